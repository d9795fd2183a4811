"""Reading the structured log lines a test caused, through pytest's caplog (structlog goes through stdlib logging)."""

import logging
from typing import Any

import pytest

from shared.logs import configure_logging


def structured_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The event dicts of the lines captured so far (configure_logging routes structlog to stdlib)."""
    return [dict(record.msg) for record in caplog.records if isinstance(record.msg, dict)]


def route_logs_to_stdlib(caplog: pytest.LogCaptureFixture) -> None:
    """Configure logging the way every service does, keeping caplog's handler, so caplog sees structlog's lines."""
    configure_logging(service="test", json=True)
    logging.getLogger().addHandler(caplog.handler)
