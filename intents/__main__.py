"""Entry point for ``python -m intents``."""

import sys

from intents.cli import main

sys.exit(main())
