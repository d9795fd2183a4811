"""aio-pika's and aiormq's lines about a broker connection closed or a reconnect refused, as structlog lines with
the broker's reason code and text and which connection.

aio-pika says a failed reconnect as `Connection attempt to "<url>" failed: Expected one of ['Connection.OpenOk'], got
<Connection.Close object at 0x…>`: the broker's Connection.Close frame (320 CONNECTION_FORCED while it shuts down,
530 NOT_ALLOWED for a virtual host deleted, 403 ACCESS_REFUSED) is in the line only by its address, so an operator
could not tell why. Here the frame's repr carries its reply code and text, and both lines become
`broker_connection_closed` (an open connection closed by the broker) and `broker_reconnect_failed` (a reconnect
refused), with `connection` (the URL without its password), `reply_code`, `reply_text` and `retry_seconds`.
"""

import ast
import logging
import re
from typing import Any

from pamqp import commands

from shared.logs import get_logger

log = get_logger("shared.broker")

_REPLY = re.compile(r"reply_code=(?P<code>[0-9]+), reply_text=(?P<text>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")")


def _close_repr(frame: Any) -> str:
    """`<Connection.Close reply_code=320, reply_text='CONNECTION_FORCED - …'>` (pamqp says only its address)."""
    return f"<{frame.name} reply_code={frame.reply_code!r}, reply_text={frame.reply_text!r}>"


def reply_of(error: object) -> tuple[int | None, str | None]:
    """The broker's reply code and text an aiormq error carries (ConnectionClosed's args, or a Connection.Close frame
    in its text), (None, None) when it carries none."""
    args: tuple[Any, ...] = tuple(getattr(error, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int) and isinstance(args[1], str):
        return args[0], args[1]
    found = _REPLY.search(str(error))
    if found is None:
        return None, None
    text = ast.literal_eval(found.group("text"))
    return int(found.group("code")), str(text)


class _BrokerCloseLines(logging.Filter):
    """Replaces the two libraries' lines by structlog ones; every other record passes as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        args = record.args if isinstance(record.args, tuple) else ()
        if message.startswith("Connection attempt to") and "failed" in message and len(args) >= 3:
            code, text = reply_of(args[1])
            log.warning(
                "broker_reconnect_failed",
                connection=str(args[0]),
                reply_code=code,
                reply_text=text,
                error=str(args[1]),
                retry_seconds=args[2],
            )
            return False
        if message.startswith("Unexpected connection close from remote") and len(args) >= 3:
            log.warning("broker_connection_closed", connection=str(args[0]), reply_code=args[1], reply_text=args[2])
            return False
        return True


_FILTER = _BrokerCloseLines()


def install_broker_close_lines() -> None:
    """Make the broker's reply code and text part of aio-pika's and aiormq's connection lines (idempotent)."""
    commands.Connection.Close.__repr__ = _close_repr  # type: ignore[method-assign]
    commands.Channel.Close.__repr__ = _close_repr  # type: ignore[method-assign]
    for name in ("aio_pika.robust_connection", "aiormq.connection"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
