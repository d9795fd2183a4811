"""A filtered dismissal of rejections as the API (POST /v1/rejections/dismiss) and `python -m shared.ops rejections
dismiss --code/--source/--before/--after/--sender` both ask it: the same criteria, the same refusal of an empty filter
and the same calls to meetings' DismissRejections until nothing it selects is left open."""

from collections.abc import Awaitable, Callable
from typing import Any

from shared.contracts.meetings_rpc import DismissRejections, RejectionFilter, RejectionsDismissedReply
from shared.refusals import RefusalCode

FILTER_OPTIONS = {
    "code": "--code",
    "source": "--source",
    "sender": "--sender",
    "received_before": "--before",
    "received_after": "--after",
}
"""Each criterion (RejectionFilter's field, the API body's) and the command line option that gives it."""

EMPTY_FILTER = (
    "a filtered dismissal names at least one of code, source, sender, received_before, received_after;"
    " to dismiss every open rejection say all"
)
"""Why an empty filter is refused (the API's 422 names `code`; the command line says it with its options)."""

CALLS_AT_MOST = 1000
"""At most this many DismissRejections calls for one dismissal (each closes rows for up to ten seconds): a flood
still arriving as fast as it is closed is not chased for ever; the answer's `remaining` says what is left."""


class FilterRefused(ValueError):
    """A filtered dismissal's filter is refused, naming the criterion at fault (`field`, RejectionFilter's name; the
    API's 422 names it, the command line its option, FILTER_OPTIONS)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class EmptyFilter(FilterRefused):
    """A filtered dismissal named no criterion and not `all` (EMPTY_FILTER)."""


def checked_filter(selected: RejectionFilter, *, every: bool) -> RejectionFilter:
    """`selected` when it names a criterion or `every` (all) was said; EmptyFilter otherwise (field `code`);
    FilterRefused for a `code` that is no RefusalCode (a typo would select nothing) or received_after not before
    received_before (field `received_after`): selecting nothing by mistake is refused, not a dismissal."""
    if not selected.given() and not every:
        raise EmptyFilter(EMPTY_FILTER, field="code")
    if selected.code is not None and selected.code not in set(RefusalCode):
        raise FilterRefused(f"{selected.code!r} is no refusal code (shared.refusals.RefusalCode)", field="code")
    before, after = selected.received_before, selected.received_after
    if before is not None and after is not None and after >= before:
        raise FilterRefused("received_after must be before received_before", field="received_after")
    return selected


async def dismiss_filtered(
    call: Callable[[DismissRejections], Awaitable[RejectionsDismissedReply]], request: DismissRejections
) -> dict[str, Any]:
    """Ask meetings (`call`) to close what `request` selects until none is left open or a call closes none:
    `matched` (open when the first call began), `dismissed` (the sum), `remaining`, `dry_run`, `filter`."""
    first = await call(request)
    matched, dismissed, remaining = first.matched, first.dismissed, first.remaining
    calls = 1
    while not request.dry_run and remaining and calls < CALLS_AT_MOST:
        reply = await call(request)
        calls += 1
        dismissed += reply.dismissed
        remaining = reply.remaining
        if reply.dismissed == 0:
            break
    return {
        "matched": matched,
        "dismissed": dismissed,
        "remaining": remaining,
        "dry_run": request.dry_run,
        "filter": request.filter.model_dump(mode="json", exclude_none=True),
    }
