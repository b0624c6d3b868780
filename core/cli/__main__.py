"""``python -m core.cli``: the ``custseg`` command line."""

import sys

from core.cli import main

sys.exit(main())
