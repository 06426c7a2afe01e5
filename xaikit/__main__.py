"""``python -m xaikit``: the command line of :mod:`xaikit.cli`."""

import sys

from xaikit.cli import main

if __name__ == "__main__":
    sys.exit(main())
