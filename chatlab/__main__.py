"""``python -m chatlab`` is the ``chatlab`` command."""

import sys

from .cli import main

sys.exit(main())
