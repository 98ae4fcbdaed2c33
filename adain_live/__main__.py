"""``python -m adain_live`` runs the command line."""

from __future__ import annotations

import sys

from adain_live.cli import main

if __name__ == "__main__":
    sys.exit(main())
