"""CONTRACT.md: each event of a batch is handled exactly as if it had been sent alone. Within a batch's transaction the
meeting's state kept the content key of the adopted minutes as read before the batch (repository.meetings
record_minutes_content), so an adoption and a resend of the adopted text earlier in the same batch left a later
secretary's change judged against no adopted text: another text was taken over a standing adoption (the demo seed
and a system publisher's batches carry the secretary's commands), where sent one by one it is refused
`minutes_adopted`. The state's adoption is judged again, for a person's command, after such events of its batch.

Over the real repository and queries (meetings' own database)."""

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.meetings import handlers
from shared.envelope import GATEWAY_SOURCE, now
from tests.meetings import events as ev
from tests.meetings.test_adoption_changed_text import FEED, minutes, read
from tests.meetings.test_votes_and_roster_facts import cell_of_three


async def _events(uow_factory: Any, sent: datetime) -> tuple[str, list[dict[str, Any]]]:
    """A held meeting of a cell of three, adopted at `sent`, and: the secretary's minutes, their adoption, the feed's
    resend of the adopted text (issued after the adoption) and the secretary's other text after it: (meeting, those
    four)."""
    start = sent - timedelta(hours=3)
    members, meeting = await cell_of_three(uow_factory, starts_at=start, present=True)
    text = "Kết luận đã thông qua"
    first = minutes(meeting, members[0], start, text, source=GATEWAY_SOURCE, time=sent - timedelta(minutes=20))
    adoption = ev.raw_event(
        "minutes.approved.v1",
        {"meeting_id": meeting, "approved_at": sent.isoformat(), "votes_for": 3},
        source=GATEWAY_SOURCE,
        time=sent,
    )
    resent = minutes(meeting, members[0], start, text, source=FEED, time=sent + timedelta(seconds=25))
    changed = minutes(meeting, members[0], start, "Kết luận khác", source=GATEWAY_SOURCE, time=now())
    return meeting, [first, adoption, resent, changed]


async def test_a_batch_judges_a_later_command_against_the_adoption_made_earlier_in_it(
    uow_factory: Any, meetings_pool: asyncpg.Pool
) -> None:
    outcomes: dict[str, Any] = {}
    sent = now().replace(microsecond=0) - timedelta(minutes=5)  # one adoption time for both routes' meetings
    for route in ("one_by_one", "batch"):
        meeting, events = await _events(uow_factory, sent)
        if route == "batch":
            results = await handlers.ingest_batch(events, uow_factory, route="test")
        else:
            results = [(await handlers.ingest_batch([one], uow_factory, route="test"))[0] for one in events]
        refusals = [None if result.refusal is None else result.refusal.code for result in results]
        outcomes[route] = ([result.outcome for result in results], refusals, await read(meetings_pool, meeting))
    assert outcomes["batch"] == outcomes["one_by_one"]
    adopted = outcomes["one_by_one"][2]
    assert outcomes["one_by_one"][:2] == (["accepted"] * 3 + ["rejected"], [None] * 3 + ["minutes_adopted"])
    assert (adopted[0], adopted[3]) == ("minutes_approved", "Kết luận đã thông qua")
