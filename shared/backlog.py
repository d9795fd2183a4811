"""A consumer falling behind, as this process sees it: the deliveries of each queue in progress (how many, since
when), the events it settled lately (a rate), and how long the queue has had messages waiting. /health (and so the
heartbeat, the gateway's /v1/system/health, /app/operations and `make status`) names a backlog that lasts longer
than `backlog_attention_seconds` (docs/operations.md, "Backlog").

A queue's depth alone does not show it: a batch delivery of 1,000 events is one message, unacked while its
consumer works through it (a trial's notifications took 13 minutes over four such messages, the queue at 0)."""

import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import count

from shared.numbers import format_number

RATE_WINDOW_SECONDS = 60.0
"""The handling rate is the events settled over this last window, per second."""


@dataclass
class _Queue:
    started: dict[int, float] = field(default_factory=dict)  # delivery token -> monotonic start
    settled: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic end, events)
    waiting_since: float | None = None  # monotonic time messages were first seen waiting, continuously since


_QUEUES: dict[str, _Queue] = {}
_TOKENS = count()


def _queue(name: str) -> _Queue:
    return _QUEUES.setdefault(name, _Queue())


@contextmanager
def in_progress(queue: str) -> Iterator[list[int]]:
    """Count one delivery of `queue` in progress for the block; the block appends how many events it settled to
    the list it is given (the handling rate counts them when it ends, however it ends)."""
    state = _queue(queue)
    token = next(_TOKENS)
    state.started[token] = time.monotonic()
    settled: list[int] = []
    try:
        yield settled
    finally:
        state.started.pop(token, None)
        now = time.monotonic()
        state.settled.append((now, sum(settled)))
        while state.settled and state.settled[0][0] < now - RATE_WINDOW_SECONDS:
            state.settled.popleft()


def figures(queue: str, *, waiting: int | None, now: float | None = None) -> dict[str, float | int | None]:
    """The backlog figures of a queue: `waiting` (ready messages, a passive declare's message_count; None when
    unknown), `in_progress` (deliveries this process works on), `oldest_in_progress_seconds`, `waiting_seconds` (how
    long messages have waited without the queue being seen empty by this call) and `events_per_second` (settled over
    the last RATE_WINDOW_SECONDS). Each call with a known `waiting` updates the waiting time."""
    state = _queue(queue)
    now = time.monotonic() if now is None else now
    if waiting is not None:
        if waiting > 0 and state.waiting_since is None:
            state.waiting_since = now
        elif waiting == 0:
            state.waiting_since = None
    while state.settled and state.settled[0][0] < now - RATE_WINDOW_SECONDS:
        state.settled.popleft()
    oldest = min(state.started.values(), default=None)
    return {
        "waiting": waiting,
        "in_progress": len(state.started),
        "oldest_in_progress_seconds": round(now - oldest, 1) if oldest is not None else 0.0,
        "waiting_seconds": round(now - state.waiting_since, 1) if state.waiting_since is not None else 0.0,
        "events_per_second": round(sum(events for _, events in state.settled) / RATE_WINDOW_SECONDS, 2),
    }


def backlog_attention(queue: str, found: Mapping[str, float | int | None], *, limit_seconds: float) -> str | None:
    """The attention line (Vietnamese, read by operators; figures by shared.numbers: `1,2 sự kiện/giây`) of a queue
    whose oldest delivery in progress, or whose waiting messages, are older than `limit_seconds`; None otherwise (or
    when `limit_seconds` is 0: off)."""
    if limit_seconds <= 0:
        return None
    oldest = float(found.get("oldest_in_progress_seconds") or 0)
    waited = float(found.get("waiting_seconds") or 0)
    if oldest <= limit_seconds and waited <= limit_seconds:
        return None
    waiting = found.get("waiting")
    # figures as a Vietnamese reader reads them (shared.numbers): `1,2 sự kiện/giây`, `3.600 s`, not `1.2`, `3600`
    return (
        f"hàng đợi {queue} đang tồn đọng quá {format_number(limit_seconds)} s:"
        f" {format_number(found.get('in_progress') or 0, digits=0)} lượt đang xử lý"
        f" (lâu nhất {format_number(oldest, digits=0)} s),"
        f" {'?' if waiting is None else format_number(waiting, digits=0)} tin chờ"
        f" (chờ {format_number(waited, digits=0)} s),"
        f" tốc độ {format_number(float(found.get('events_per_second') or 0))} sự kiện/giây"
    )
