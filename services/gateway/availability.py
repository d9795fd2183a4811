"""Whether the evaluation and notifications services answered during one page's render.

The facts of meetings come from the meetings service; the scores come from evaluation and the notices (inboxes, late
minutes, notice preferences) from notifications. A page whose scores or notices cannot be read (that service down or
silent) still shows the rest, with a short note in place of the missing part. The first call to a service that goes
unanswered marks it unavailable for the rest of the render, so the page waits one timeout, not one per section. The
reads the API and the pages share (http.reads) ask through it too where evaluation's answer is optional (a cell's
meetings' first-month check): on a page, after evaluation went unanswered, they wait no second timeout; outside a
page render (an API request) the call is made and its ServiceUnavailable raised as before. Evaluation is judged
afresh for each render: a service back up is asked again on the next page, never skipped for a while after.

Meetings is asked only for what a page can do without in the same way (meetings_or: the units under a committee, the
names of a ranking's committees): its figures are evaluation's, and the unit's scoping is the gateway's kept copy
(handlers.UnitDirectory). Meetings known to be down (the directory found it silent a moment ago) is not asked at all
for those parts: the page shows its note at once. The first page after meetings stopped, its unit still fresh in the
directory, waited the whole RPC timeout (5.1 s in the tests) for those parts: it now waits `read_timeout`, then asks
the broker whether meetings has a consumer on its RPC queue and, without one, shows its note (meetings noted down for
the pages after it); a meetings there but slow is still waited for."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.gateway.handlers import UnitDirectory
from shared.logs import get_logger
from shared.rpc import ServiceUnavailable

log = get_logger(__name__)
T = TypeVar("T")
SCORES_SERVICE = "evaluation"
NOTICES_SERVICE = "notifications"
MEETINGS_SERVICE = "meetings"


@dataclass
class Render:
    """One page render's view of the services it may do without: those whose call went unanswered."""

    unavailable: set[str] = field(default_factory=set)


_render: ContextVar[Render | None] = ContextVar("web_render", default=None)


@contextmanager
def page_render() -> Iterator[Render]:
    """Scope one page's render (the tasks it gathers share it): evaluation is judged afresh for each page."""
    token = _render.set(Render())
    try:
        yield _render.get() or Render()
    finally:
        _render.reset(token)


def scores_unavailable() -> bool:
    """Whether this render found evaluation unavailable (the page then shows its note in place of the scores)."""
    found = _render.get()
    return bool(found and SCORES_SERVICE in found.unavailable)


def notices_unavailable() -> bool:
    """Whether this render found notifications unavailable (the page then shows its note in place of the notices)."""
    found = _render.get()
    return bool(found and NOTICES_SERVICE in found.unavailable)


def meetings_unavailable() -> bool:
    """Whether this render found meetings unavailable (the page then shows its note in place of the units' list)."""
    found = _render.get()
    return bool(found and MEETINGS_SERVICE in found.unavailable)


def empty_page() -> dict[str, Any]:
    """The fallback of a list read from evaluation: a page with no items."""
    return {"items": [], "total": 0}


async def answered_or(service: str, call: Callable[[], Awaitable[T]], fallback: T) -> T:
    """`call()`'s answer, or `fallback` when `service` does not answer (ServiceUnavailable naming it); once it has
    not, later calls of the same render to it are not made (fallback at once). Outside a page render, or when another
    service does not answer, the error is raised as before."""
    found = _render.get()
    if found is None:
        return await call()
    if service in found.unavailable:
        return fallback
    try:
        return await call()
    except ServiceUnavailable as exc:
        if exc.service != service:
            raise
        log.warning("web_service_unavailable", dependency=exc.service)
        found.unavailable.add(service)
        return fallback


async def scores_or(call: Callable[[], Awaitable[T]], fallback: T) -> T:
    """`answered_or` for evaluation: the scores a page can do without."""
    return await answered_or(SCORES_SERVICE, call, fallback)


async def notices_or(call: Callable[[], Awaitable[T]], fallback: T) -> T:
    """`answered_or` for notifications: the notices (inboxes, late minutes, preferences) a page can do without."""
    return await answered_or(NOTICES_SERVICE, call, fallback)


async def meetings_or(directory: UnitDirectory, call: Callable[[], Awaitable[T]], fallback: T) -> T:
    """`answered_or` for meetings: the units and names a page can do without. While `directory` takes meetings to be
    down (UnitDirectory.meetings_silent), `fallback` at once (meetings marked unavailable for the render), without
    waiting for it; a call it leaves unanswered marks it down there too, and a read's call gives up once it waited
    `read_timeout` when the broker says meetings is gone (UnitDirectory.read_bounded), not after the RPC timeout.
    Outside a page render: `call()` as it is."""
    found = _render.get()
    if found is None:
        return await call()
    if directory.meetings_silent():
        found.unavailable.add(MEETINGS_SERVICE)
        return fallback
    answer = await answered_or(MEETINGS_SERVICE, lambda: directory.read_bounded(call), fallback)
    if MEETINGS_SERVICE in found.unavailable:
        directory.noted_silent()
    return answer
