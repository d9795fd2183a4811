"""`python -m services.meetings ...`."""

from services.meetings.main import cli

cli()
