"""``python -m rfgraph.cli``: the same as the ``rfgraph`` command."""

import sys

from . import main

sys.exit(main())
