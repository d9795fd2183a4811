"""Whether the evaluation service answered during one page's render.

The facts of meetings come from the meetings service; only the scores come from evaluation. A page whose scores
cannot be read (evaluation down or silent) still shows the rest, with a short note in place of the scores. The first
call to evaluation that goes unanswered marks it unavailable for the rest of the render, so the page waits one
timeout, not one for each of its sections."""

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.logs import get_logger
from shared.rpc import ServiceUnavailable

log = get_logger(__name__)
T = TypeVar("T")
SCORES_SERVICE = "evaluation"


@dataclass
class Render:
    """One page render's view of evaluation: whether a call to it went unanswered."""

    scores_unavailable: bool = False


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
    return bool(found and found.scores_unavailable)


def empty_page() -> dict[str, Any]:
    """The fallback of a list read from evaluation: a page with no items."""
    return {"items": [], "total": 0}


async def scores_or(call: Callable[[], Awaitable[T]], fallback: T) -> T:
    """`call()`'s answer, or `fallback` when evaluation does not answer; once it has not, later calls of the same
    render are not made (fallback at once). Outside a page render, the error is raised as before."""
    found = _render.get()
    if found is None:
        return await call()
    if found.scores_unavailable:
        return fallback
    try:
        return await call()
    except ServiceUnavailable as exc:
        if exc.service != SCORES_SERVICE:
            raise
        if not found.scores_unavailable:
            log.warning("web_scores_unavailable", service=exc.service)
        found.scores_unavailable = True
        return fallback
