"""CLI commands of the bulk path."""

BULK_COMMANDS: list = []
