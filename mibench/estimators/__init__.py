"""Estimators, one family per module; ``mibench.registry`` maps ids to classes."""
