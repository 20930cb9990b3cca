"""``python -m verdict_client``: see :mod:`verdict_client.cli`."""

import sys

from .cli import main

sys.exit(main())
