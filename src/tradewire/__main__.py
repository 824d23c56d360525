"""``python -m tradewire`` is ``tradewire``."""

import sys

from tradewire.app.cli import main

sys.exit(main())
