"""The gates an estimator passes: the conformance checks of its contract (``conform``),
the bias gate on a suite against a committed baseline (``bias``, ``mibench check``) and
the speed gate of the counting core against plain NumPy (``speed``, ``mibench check
--speed``), with the reference implementations they are measured against
(``reference``)."""
