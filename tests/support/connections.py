"""The robust broker connections this test process opens, and which of them still reconnect to a virtual host.

A FastStream broker (and any aio_pika.connect_robust) left open when its test's virtual host is deleted keeps trying
to reconnect every few seconds for the rest of the run, logging `broker_reconnect_failed` for a `chibo-test-…` vhost
into later tests (a full run's tests/shared/test_broker_close_lines.py read such a line first).
tests.support.env.isolated_vhost asks `left_open` once it has deleted its vhost, and tests/conftest.py asks
`left_open_by` once a test package's last test and its package's fixtures are torn down; either fails naming the
test that opened the connection.
"""

import asyncio
import contextlib
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aio_pika import RobustConnection


@dataclass(frozen=True)
class Opened:
    """One robust connection made in this process: the test (PYTEST_CURRENT_TEST, with its phase) that made it."""

    connection: "weakref.ReferenceType[RobustConnection]"
    vhost: str
    opened_by: str


_OPENED: list[Opened] = []
_REPORTED: "weakref.WeakSet[RobustConnection]" = weakref.WeakSet()
_original_init: Any = None


def track_robust_connections() -> None:
    """Record every aio_pika RobustConnection made from now on in this process (idempotent; tests only)."""
    global _original_init
    if _original_init is not None:
        return
    _original_init = RobustConnection.__init__

    def init(self: RobustConnection, *args: Any, **kwargs: Any) -> None:
        _original_init(self, *args, **kwargs)
        vhost = unquote(self.url.path[1:]) or "/"
        opened_by = os.environ.get("PYTEST_CURRENT_TEST", "outside any test")
        _OPENED[:] = [opened for opened in _OPENED if opened.connection() is not None]
        _OPENED.append(Opened(weakref.ref(self), vhost, opened_by))

    RobustConnection.__init__ = init  # type: ignore[method-assign]


def _reconnecting(connection: RobustConnection) -> bool:
    """Whether the connection was never closed and its reconnecting task still runs on a live loop."""
    if connection.is_closed or connection.close_called or connection.loop.is_closed():
        return False
    task: asyncio.Task[None] | None = getattr(connection, "_RobustConnection__reconnection_task", None)
    return task is not None and not task.done()


def _close_still_open(opened_here: Callable[[Opened], bool]) -> list[str]:
    """The openers of the tracked connections `opened_here` accepts that still (re)connect, each closed now so it
    stops logging into later tests."""
    openers = []
    for opened in _OPENED:
        connection = opened.connection()
        if connection is None or connection in _REPORTED or not opened_here(opened) or not _reconnecting(connection):
            continue
        _REPORTED.add(connection)  # said once: its close below runs when its loop next does
        openers.append(opened.opened_by)
        connection.loop.call_soon_threadsafe(_schedule_close, connection)
    return sorted(set(openers))


def _schedule_close(connection: RobustConnection) -> None:
    """On the connection's own loop: close it in a task of its own."""
    connection.loop.create_task(_close_quietly(connection))


async def _close_quietly(connection: RobustConnection) -> None:
    """Close a connection reported left open (its vhost may be gone: whatever the close meets is not the test's)."""
    with contextlib.suppress(Exception):
        await connection.close()


def left_open(vhost: str) -> list[str]:
    """The tests (nodeid and phase) that opened a robust connection to `vhost` still trying to (re)connect, each
    such connection closed now; [] when tracking is off (outside pytest)."""
    return _close_still_open(lambda opened: opened.vhost == vhost)


def left_open_by(directory: str) -> list[str]:
    """The tests under `directory` (a nodeid prefix such as `tests/meetings/`) whose robust connection still (re)
    connects, each such connection closed now; [] when tracking is off."""
    return _close_still_open(lambda opened: opened.opened_by.startswith(directory))
