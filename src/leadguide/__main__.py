"""``python -m leadguide``: the same as the ``leadguide`` command."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
