"""Tools that prove the promises the package makes, run by hand or by the slow tests: ``python -m lrcn.tools.killtest``
(kill training at random moments, resume, compare)."""
