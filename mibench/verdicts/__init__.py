"""Trust verdicts (``mibench.trust``): the regime map and the data's own diagnostics for one estimate."""
