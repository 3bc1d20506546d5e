"""Entry point of `python -m lottery`."""

import sys

from lottery.cli import main

sys.exit(main())
