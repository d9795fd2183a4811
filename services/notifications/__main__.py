"""`python -m services.notifications`: the service's command line."""

from services.notifications.main import cli

raise SystemExit(cli())
