"""`python -m services.gateway ...`."""

import sys

from services.gateway.main import cli

sys.exit(cli())
