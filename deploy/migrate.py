"""Apply the four services' migrations in one process (`make up`): one interpreter start instead of four.

Each service is migrated as `python -m services.<name> migrate` does it (its own settings, its schema, its
migrations folder), and the same JSON line is printed for each.
"""

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from services.evaluation.config import Settings as EvaluationSettings
from services.gateway.config import load_settings as gateway_settings
from services.meetings.config import Settings as MeetingsSettings
from services.notifications.config import Settings as NotificationsSettings
from shared.config import SavedSettingsError, ServiceSettings, checkout_system
from shared.logs import configure_logging
from shared.runtime import migrate

SERVICES: dict[str, Callable[[], ServiceSettings]] = {
    "meetings": MeetingsSettings,
    "evaluation": EvaluationSettings,
    "notifications": NotificationsSettings,
    "gateway": gateway_settings,
}
"""Each service's settings factory, in the order `make up` migrates them."""


class MigrationFailed(Exception):
    """A service's migrations could not be applied; the message names the service."""


def service_dir(name: str) -> Path:
    """The service's package folder (its bootstrap's SERVICE_DIR), without importing the whole service."""
    module = importlib.import_module(f"services.{name}")
    return Path(str(module.__file__)).parent


async def migrate_all() -> list[dict[str, object]]:
    """Migrate every service in turn; [{"service", "applied"}]; MigrationFailed for the first that fails."""
    results: list[dict[str, object]] = []
    for name, settings_factory in SERVICES.items():
        settings = settings_factory()
        configure_logging(service=name, level=settings.log_level, json=settings.log_json)
        try:
            applied = await migrate(settings, schema=name, service_dir=service_dir(name))
        except Exception as exc:
            raise MigrationFailed(f"migrating {name} failed: {exc!r}") from exc
        results.append({"service": name, "applied": applied})
        print(json.dumps(results[-1]), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the migrations on this checkout's database (exported, else var/up.env, else the default: named first on
    stderr); a failure ends in MigrationFailed's traceback and exit status 1, a var/up.env the shell cannot read in
    one line and exit status 2; `--help` prints the usage and an unknown argument exits 2, neither touching a
    database."""
    argparse.ArgumentParser(
        prog="python -m deploy.migrate",
        description="Apply the four services' migrations to this checkout's database (CHIBO_DATABASE_URL, else"
        " var/up.env, else the default), creating the database if it is missing.",
    ).parse_args(argv)
    try:
        with checkout_system("deploy.migrate", ServiceSettings):
            asyncio.run(migrate_all())
    except SavedSettingsError as exc:
        print(f"deploy.migrate: settings: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
