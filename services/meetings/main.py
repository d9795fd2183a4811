"""The process entry points: the app factory uvicorn runs, and the command line."""

import sys

from faststream.asgi import AsgiFastStream

from services.meetings import bootstrap
from services.meetings.bulk.commands import BULK_COMMANDS
from services.meetings.config import Settings
from shared.cli import run_service_cli


def create_app() -> AsgiFastStream:
    """The meetings app, configured from the environment."""
    return bootstrap.create_app()


def cli() -> None:
    """`python -m services.meetings serve|migrate|health|generate-province|bulk-load`."""
    sys.exit(
        run_service_cli(
            name="meetings",
            app_path="services.meetings.main:create_app",
            settings_factory=Settings,
            service_dir=bootstrap.SERVICE_DIR,
            extra=BULK_COMMANDS,
        )
    )
