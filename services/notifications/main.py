"""Entry points: the app factory uvicorn runs, and the command line."""

from faststream.asgi import AsgiFastStream

from services.notifications.bootstrap import SERVICE_DIR, build_app
from services.notifications.config import Settings
from shared.cli import run_service_cli


def create_app() -> AsgiFastStream:
    """The notifications app built from the environment's settings."""
    return build_app(Settings())


def cli() -> int:
    """`python -m services.notifications serve|migrate|health`."""
    return run_service_cli(
        name="notifications",
        app_path="services.notifications.main:create_app",
        settings_factory=Settings,
        service_dir=SERVICE_DIR,
    )
