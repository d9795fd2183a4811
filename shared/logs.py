"""structlog set-up: JSON lines off a terminal, every line carrying the service name."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

_configured_service: str | None = None


def configure_logging(*, service: str, level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and stdlib logging once per process for one service."""
    global _configured_service
    _configured_service = service
    render_json = (not sys.stderr.isatty()) if json is None else json

    def add_service(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if render_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # FastStream attaches its own coloured handlers at import; send its lines through ours instead
    for name in ("faststream", "faststream.access.rabbit"):
        framework_logger = logging.getLogger(name)
        framework_logger.handlers[:] = []
        framework_logger.propagate = True


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger; configure_logging decides where it writes."""
    return structlog.get_logger(name)


@contextmanager
def message_context(
    *, event_id: str, event_type: str, correlation_id: str | None, source: str | None = None
) -> Iterator[None]:
    """Bind the message's identity for the block, restoring what was bound before (nesting is safe)."""
    with structlog.contextvars.bound_contextvars(
        event_id=event_id, event_type=event_type, correlation_id=correlation_id, event_source=source
    ):
        yield
