"""`python -m edge` is `midas-edge`."""

import sys

from edge.cli import main

sys.exit(main())
