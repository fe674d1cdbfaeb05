"""Activation dumps: the format (:mod:`~mibench.dumps.format`), a recorder for any torch
model, reference networks with exact population truth, importers of other tools' dumps,
and the information plane of a dump."""
