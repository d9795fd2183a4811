"""structlog set-up: JSON lines off a terminal, every line carrying the service name."""

import logging
import re
import sys
from collections.abc import MutableMapping
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar, Token
from typing import Any

import structlog

_configured_service: str | None = None
_PROCESSORS: list[Any] = []
"""The one processor list every configure_logging installs, refilled in place: a logger is cached on first use
(cache_logger_on_first_use) with the list configured then, so a new list per call left a module's logger, first used
under an earlier configuration of the process (a test building a second service app), on the old list, and
structlog.testing.capture_logs, which refills the current list, never saw its lines (they went to stderr)."""

MAX_VALUE_CHARS = 512
"""Longest text value of a field written to a log line (a header, an id, a path); longer ones are cut and marked."""
MAX_MESSAGE_CHARS = 8192
"""Longest message (`event`) or traceback (`exception`): long enough for an operator's traceback, still bounded."""
SECRET_KEYS = frozenset({"authorization", "token", "access_token", "id_token", "cookie", "password", "secret", "jwt"})
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SECRET_PARAM = re.compile(
    r"(?i)\b(token|access_token|id_token|jwt|api_key|apikey|key|secret|password|session|authorization|code)=[^&\s\"']*"
)


def redact(text: str, *, limit: int = MAX_VALUE_CHARS) -> str:
    """`text` without bearer tokens (JWTs anywhere, secret-looking query parameters) and cut to `limit` chars."""
    text = _SECRET_PARAM.sub(lambda match: f"{match.group(1)}=[redacted]", _JWT.sub("[redacted-token]", text))
    if len(text) > limit:
        return f"{text[:limit]}…[{len(text) - limit} more chars]"
    return text


def sanitize(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: no token in any log line, every text value bounded (issue 11, fault 8)."""
    for key, value in event_dict.items():
        if key.startswith("_"):
            continue
        if key.lower() in SECRET_KEYS and value is not None:
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = redact(
                value, limit=MAX_MESSAGE_CHARS if key in ("event", "exception") else MAX_VALUE_CHARS
            )
    return event_dict


def add_service(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the line's `service` is the one configured last, read when the line is written (a logger
    cached under an earlier configuration of the process, as tests make several, still names the current service).
    It is always the emitting service, whatever a call passes: a trial's gateway lines passed the silent service as
    `service=` and read as that service's own; another service a line is about goes in its own field (`dependency`)."""
    if _configured_service is not None:
        event_dict["service"] = _configured_service
    else:
        event_dict.setdefault("service", None)
    return event_dict


def configure_logging(*, service: str, level: str = "INFO", json: bool | None = None) -> None:
    """Configure structlog and stdlib logging once per process for one service."""
    global _configured_service
    _configured_service = service
    render_json = (not sys.stderr.isatty()) if json is None else json

    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        merge_message_context,
        add_service,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        sanitize,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False) if render_json else structlog.dev.ConsoleRenderer()
    )
    # a line below its logger's level is dropped first, before the time stamp and the redaction run for it (the
    # stdlib logger would drop it only after them: 3.4 % of evaluation's busy samples under WARNING)
    _PROCESSORS[:] = [
        structlog.stdlib.filter_by_level,
        *shared_processors,
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ]
    structlog.configure(
        processors=_PROCESSORS,
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
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from shared.broker_logs import install_broker_close_lines  # it logs through this module

    install_broker_close_lines()
    # FastStream attaches its own coloured handlers at import, and sets its logger to INFO (so its two lines per
    # message, received and processed, ignored CHIBO_LOG_LEVEL=WARNING: 10 % of meetings' CPU in the single
    # preset); send its lines through ours at the level configured here instead
    for name in ("faststream", "faststream.access.rabbit"):
        framework_logger = logging.getLogger(name)
        framework_logger.handlers[:] = []
        framework_logger.propagate = True
        framework_logger.setLevel(logging.NOTSET)


class _StderrHandler(logging.StreamHandler):
    """A stream handler writing to `sys.stderr` as it is when each line is written, not as it was when logging was
    configured (a stream swapped since, such as a test's captured one, closed after it, would take the lines of every
    later test or raise `I/O operation on closed file`); as the standard library's last-resort handler does."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass  # StreamHandler.__init__ sets it: the stream is always the current sys.stderr


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger; configure_logging decides where it writes."""
    return structlog.get_logger(name)


_MESSAGE: ContextVar[dict[str, Any] | None] = ContextVar("chibo_message_context", default=None)
"""The identity of the message being handled (message_context), merged into every line by merge_message_context."""


class _MessageContext:
    """The block of message_context: one context variable set and reset (structlog's bound_contextvars set and reset
    four, 27 µs a message against 4 µs, ~2 % of meetings' busy samples in the single preset where it runs per event)."""

    __slots__ = ("_fields", "_token")

    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields
        self._token: Token[dict[str, Any] | None] | None = None

    def __enter__(self) -> None:
        self._token = _MESSAGE.set(self._fields)

    def __exit__(self, *_: object) -> None:
        if self._token is not None:
            _MESSAGE.reset(self._token)


def message_context(
    *,
    event_id: str,
    event_type: str,
    correlation_id: str | None,
    source: str | None = None,
    message_id: str | None = None,
) -> AbstractContextManager[None]:
    """Bind the event's identity for the block, restoring what was bound before (nesting is safe): `event_id` is
    the CloudEvents `id`; `message_id` (optional) the AMQP message's own id it came in, never taken for it."""
    fields = {"event_id": event_id, "event_type": event_type, "correlation_id": correlation_id, "event_source": source}
    if message_id:
        fields["message_id"] = message_id
    return _MessageContext(fields)


def run_context(
    *, first_event_id: str, events: int, event_type: str, correlation_id: str | None, source: str | None = None
) -> AbstractContextManager[None]:
    """Bind the identity of a run of `events` events of one type handled at once (a batch handler's): its first
    event's CloudEvents `id` as `first_event_id` and the count as `run_events`, never a made-up `event_id` (a run's
    every id is not logged: up to 1,000 ids would make each of its lines ~40 KB; its events' own lines and the
    outbox rows name them)."""
    return _MessageContext(
        {
            "first_event_id": first_event_id,
            "run_events": events,
            "event_type": event_type,
            "correlation_id": correlation_id,
            "event_source": source,
        }
    )


_REQUEST_CORRELATION: ContextVar[str | None] = ContextVar("chibo_request_correlation", default=None)
"""The correlation id of the RPC request being answered (request_context), for the events it carries in."""


class _RequestContext:
    """The block of request_context: the request's correlation id bound for log lines and for its events."""

    __slots__ = ("_correlation_id", "_tokens")

    def __init__(self, correlation_id: str | None) -> None:
        self._correlation_id = correlation_id
        self._tokens: tuple[Token[str | None], Token[dict[str, Any] | None]] | None = None

    def __enter__(self) -> None:
        fields = {**(_MESSAGE.get() or {}), "correlation_id": self._correlation_id}
        self._tokens = (_REQUEST_CORRELATION.set(self._correlation_id), _MESSAGE.set(fields))

    def __exit__(self, *_: object) -> None:
        if self._tokens is not None:
            correlation, message = self._tokens
            _MESSAGE.reset(message)
            _REQUEST_CORRELATION.reset(correlation)


def request_context(*, correlation_id: str | None) -> AbstractContextManager[None]:
    """Bind the correlation id of a request being answered (an RPC's, which the gateway gives every HTTP request) for
    the block: every line carries it (a message_context within names its own event's), request_correlation_id
    returns it. None binds nothing new."""
    if not correlation_id:
        return nullcontext()
    return _RequestContext(correlation_id)


def follow_request_by(correlation_id: str) -> None:
    """Within request_context, follow the rest of the request by `correlation_id` (the one its events name,
    CONTRACT.md `correlationid`): later lines carry it and request_correlation_id returns it, until the request's
    block ends. Outside a request (an AMQP delivery) it does nothing."""
    if _REQUEST_CORRELATION.get() is None:
        return
    _REQUEST_CORRELATION.set(correlation_id)
    _MESSAGE.set({**(_MESSAGE.get() or {}), "correlation_id": correlation_id})


def request_correlation_id() -> str | None:
    """The correlation id of the request being answered (request_context), or None outside one."""
    return _REQUEST_CORRELATION.get()


def message_correlation_id() -> str | None:
    """The correlation id the lines being written now carry: the message's or run's (message_context, run_context),
    else the RPC request's (request_context); None outside any. What a handler derives (a notice) keeps it."""
    fields = _MESSAGE.get()
    bound = fields.get("correlation_id") if fields else None
    return bound if isinstance(bound, str) else _REQUEST_CORRELATION.get()


def merge_message_context(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the fields of the message being handled, unless the line names them itself."""
    fields = _MESSAGE.get()
    if fields:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
    return event_dict
