"""Session-wide settings for the unit tests, the doctests and the notebooks run by nbval."""

import os

# Notebooks read XAIKIT_SMOKE (through xaikit.is_smoke_run) to shrink their workload; the
# kernels nbval starts inherit this process's environment. XAIKIT_SMOKE=0 runs them in full.
os.environ.setdefault("XAIKIT_SMOKE", "1")
# Figures are drawn off screen; there is no display on CI.
os.environ.setdefault("MPLBACKEND", "Agg")
# Nothing downloads during the tests: the download tests serve files from 127.0.0.1 and lift
# this for themselves.
os.environ["XAIKIT_OFFLINE"] = "1"
