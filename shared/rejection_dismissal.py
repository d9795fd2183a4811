"""A filtered dismissal of rejections as the API (POST /v1/rejections/dismiss) and `python -m shared.ops rejections
dismiss --code/--source/--before/--after/--sender` both ask it: the same criteria, and the same calls to meetings'
DismissRejections until nothing it selects is left open. What a filter may be (no empty one without `all`, a known
code, a window not empty) is checked in one place, meetings_rpc.checked_filter, which DismissRejections itself runs."""

from collections.abc import Awaitable, Callable
from typing import Any

from shared.contracts.meetings_rpc import DismissRejections, RejectionsDismissedReply

FILTER_OPTIONS = {
    "code": "--code",
    "source": "--source",
    "sender": "--sender",
    "received_before": "--before",
    "received_after": "--after",
}
"""Each criterion (RejectionFilter's field, the API body's) and the command line option that gives it."""

CALLS_AT_MOST = 1000
"""At most this many DismissRejections calls for one dismissal (each closes rows for up to ten seconds): a flood
still arriving as fast as it is closed is not chased for ever; the answer's `remaining` says what is left."""


async def dismiss_filtered(
    call: Callable[[DismissRejections], Awaitable[RejectionsDismissedReply]], request: DismissRejections
) -> dict[str, Any]:
    """Ask meetings (`call`) to close what `request` selects until none is left open or a call closes none:
    `matched` (open when the first call began), `dismissed` (the sum), `remaining`, `dry_run`, `filter`,
    `counted_at` (when the first call counted, None from an older meetings) and `expected_differs` (the first call
    found another number than `request.expected` and closed nothing: no call follows). Only the first call checks
    `expected`; the next ones close what the same filter still selects, left by the first's time running out."""
    first = await call(request)
    matched, dismissed, remaining = first.matched, first.dismissed, first.remaining
    calls = 1
    going_on = request.model_copy(update={"expected": None})
    while not request.dry_run and not first.expected_differs and remaining and calls < CALLS_AT_MOST:
        reply = await call(going_on)
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
        "counted_at": first.counted_at,
        "expected_differs": first.expected_differs,
    }
