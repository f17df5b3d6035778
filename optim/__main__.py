"""``python -m optim``: the same as the ``optim`` command."""

import sys

from optim.cli import main

sys.exit(main())
