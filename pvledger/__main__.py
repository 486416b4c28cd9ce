"""`python -m pvledger` runs the CLI."""

import sys

from pvledger.cli import main

sys.exit(main())
