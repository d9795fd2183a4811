"""Whether a rejection may be replayed as it was sent is decided once, by meetings (handlers.ingest
.not_replayable_as_sent): its reply says it (`not_replayable_reason`, `replayable_as_sent`, the rejection's and each
attempt's), the operations page offers "Xét lại" by that field alone, and the replay the API and the command line ask
for refuses with that very code. For every kind a body may not be replayable (not kept as sent, cut or not UTF-8;
reading as no JSON; refused again as sent) and for one that is, stored as real rows through the real ingest (no
column of their own, so rows stored before the field read alike), the page and the replay agree, for the rejection
and for each of its attempts (a trial's page hid an attempt's "Xét lại" the replay would take, and offered one it
would refuse, when its copies were kept differently). Real PostgreSQL; the page rendered from its template."""

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import to_json

from services.gateway.schemas.operations import RejectionRead
from services.meetings import handlers
from services.meetings.queries import rejection
from shared.contracts.meetings_rpc import RejectionAttemptReply, RejectionReply
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.web.operations_render import PAGER, operations_html

NOTE_KINDS = {
    "cut": "body_not_kept",
    "not_utf8": "body_not_kept",
    "not_json": "body_reads_no_json",
    "refused_as_sent": "refused_again_as_sent",
}
"""The page's note (`data-body-not-kept`) for each code a replay as it was is refused with."""

Sent = Callable[[str], Awaitable[None]]
"""Sends a body (its marker given) through the real ingest, so that meetings stores it as it stores any."""


def oversized(marker: str, *, bad_status: bool = False) -> bytes:
    """A member event over the size limit (kept as a prefix and its size), named by `marker`."""
    event = ev.member(f"{marker}-m", "cell-none", status="bogus" if bad_status else "official", id=marker)
    event["data"]["pad"] = "x" * (1 << 20)
    return json.dumps(event).encode()


def bad_status(marker: str) -> bytes:
    """A member event kept whole, refused for its data (a status no rule reads): a replay as it was is judged."""
    return json.dumps(ev.member(f"{marker}-m", "cell-none", status="bogus", id=marker)).encode()


async def sent_through(
    uow_factory: Any, body: bytes, *, content_type: str | None = "application/cloudevents+json"
) -> None:
    """`body` through the ingest over HTTP, refused."""
    [result] = await handlers.ingest_delivery(body, uow_factory, batch=False, route="http", content_type=content_type)
    assert result.outcome == "rejected", result


async def stored_id(db: Any, marker: str) -> str:
    """The one rejection whose kept body (latest attempt) holds `marker`."""
    rows = await db.fetch("SELECT rejection_id FROM meetings.rejection WHERE strpos(raw, $1) > 0", marker)
    assert len(rows) == 1, rows
    return str(rows[0]["rejection_id"])


async def replay_says(uow_factory: Any, rejection_id: str, attempt: int | None) -> str | None:
    """What a replay as it was (the API's, the command line's: meetings' ReplayRejection) answers: the code it is
    refused with, or None when it judges the body again (never committed: nothing is stored)."""
    async with uow_factory() as uow:
        try:
            await handlers.replay_rejection(rejection_id, uow, attempt=attempt)
        except handlers.RejectionUnreplayable as refused:
            return str(refused.refusal.code)
    return None


def as_the_gateway_reads(reply: dict[str, Any]) -> dict[str, Any]:
    """meetings' reply as it crosses the RPC (JSON, read as RejectionReply) and the gateway lists it (RejectionRead)."""
    typed = RejectionReply.model_validate_json(to_json(reply))
    return RejectionRead.model_validate(typed.model_dump()).model_dump()


def page_says(item: dict[str, Any]) -> tuple[str | None, dict[int, bool]]:
    """What the operations page shows of a rejection: the code its note stands for (None: it offers "Replay as it
    was"), and for each listed attempt whether it offers "Replay this attempt"."""
    page = operations_html(rejections={"items": [item], "total": 1}, rejections_pager=PAGER, held_pager=PAGER)
    listed = page[page.index('id="rejections"') :]
    row = listed[listed.index("<tbody>") : listed.index("</tbody>")]
    attempts = {
        int(number): "/operations/rejections/replay" in text
        for number, text in re.findall(r'<li data-attempt="([0-9]+)"(.*?)</li>', row, flags=re.S)
    }
    action = row[row.rindex("<td data-label=") :]  # the row's last cell: its replay, or the note why not
    notes = re.findall(r'data-body-not-kept="([a-z_0-9]+)"', action)
    assert ("/operations/rejections/replay" in action) != bool(notes), action
    return (NOTE_KINDS[notes[0]] if notes else None), attempts


KINDS: dict[str, tuple[Callable[[str], bytes], str | None, str | None]] = {
    "cut": (oversized, "application/cloudevents+json", "body_not_kept"),
    "not_utf8": (
        lambda marker: f'{{"id": "{marker}", "x": "'.encode() + b'\xff\xfe"}',
        "application/cloudevents+json",
        "body_not_kept",
    ),
    "not_json": (
        lambda marker: f'{{"id": "{marker}", not json}}'.encode(),
        "application/cloudevents+json",
        "body_reads_no_json",
    ),
    "too_deep": (
        lambda marker: (f'{{"id": "{marker}", "agenda": ' + "[" * 80 + "]" * 80 + "}").encode(),
        "application/cloudevents+json",
        "body_reads_no_json",
    ),
    "text_plain": (lambda marker: f"hello {marker}".encode(), "text/plain", "refused_again_as_sent"),
    "no_content_type": (lambda marker: f"garbage {marker}".encode(), None, "refused_again_as_sent"),
    "replayable": (bad_status, "application/cloudevents+json", None),
    # refused by a code the event's own bytes decide (shared.refusals.REPLAY_CAN_PASS): a trial's reserved source was
    # listed replayable_as_sent though its replay could only be rejected again
    "reserved_source": (
        lambda marker: json.dumps(ev.member(f"{marker}-m", "cell-none", id=marker, source="urn:chibo:x")).encode(),
        "application/cloudevents+json",
        "refused_again_as_sent",
    ),
    "born_after_event": (
        lambda marker: json.dumps(ev.member(f"{marker}-m", "cell-none", id=marker, data={"birth_year": 2090})).encode(),
        "application/cloudevents+json",
        "refused_again_as_sent",
    ),
}
"""Each kind of rejection: its body (by marker), content type, and the code a replay as it was is refused with."""


@pytest.mark.parametrize("kind", list(KINDS))
async def test_the_reply_the_page_and_the_replay_say_one_answer_for_each_kind(
    uow_factory: Any, db: Any, meetings_pool: Any, kind: str
) -> None:
    body, content_type, code = KINDS[kind]
    marker = random_id(f"one-rule-{kind.replace('_', '-')}")
    await sent_through(uow_factory, body(marker), content_type=content_type)
    rejection_id = await stored_id(db, marker)
    async with meetings_pool.acquire() as conn:
        reply = await rejection(conn, rejection_id)
    assert reply is not None
    assert reply["not_replayable_reason"] == code, reply["reason"]
    assert (reply["body_not_kept"] is not None) == (code == "body_not_kept"), reply["body_not_kept"]
    assert await replay_says(uow_factory, rejection_id, None) == code
    item = as_the_gateway_reads(reply)
    assert item["replayable_as_sent"] is (code is None) and item["not_replayable_reason"] == code
    shown, _ = page_says(item)
    assert shown == code, kind


@pytest.mark.parametrize("cut_first", [False, True], ids=["kept_then_cut", "cut_then_kept"])
async def test_each_attempt_is_offered_by_its_own_copy_as_its_replay_judges_it(
    uow_factory: Any, db: Any, meetings_pool: Any, cut_first: bool
) -> None:
    """Two copies of one event refused, one kept whole (its data at fault: replayable), one over the size limit (only
    a prefix kept): the replay of each attempt judges that attempt's copy, so the page offers "Replay this attempt"
    for the whole one only, whichever came last (the page judged every attempt by the latest copy's `body_not_kept`)."""
    marker = random_id("one-rule-attempts")
    copies = [bad_status(marker), oversized(marker, bad_status=True)]
    for copy in reversed(copies) if cut_first else copies:
        await sent_through(uow_factory, copy)
    rows = await db.fetch("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", marker)
    assert len(rows) == 1, rows
    rejection_id = str(rows[0]["rejection_id"])
    async with meetings_pool.acquire() as conn:
        reply = await rejection(conn, rejection_id)
    assert reply is not None and [a["attempt"] for a in reply["attempts"]] == [1, 2]
    cut = 1 if cut_first else 2
    expected = {number: None if number != cut else "body_not_kept" for number in (1, 2)}
    assert {a["attempt"]: a["not_replayable_reason"] for a in reply["attempts"]} == expected
    for number, code in expected.items():
        assert await replay_says(uow_factory, rejection_id, number) == code, number
    stored = "SELECT count(*) FROM meetings.rejection_attempt WHERE rejection_id = $1"
    assert await db.fetchval(stored, rejection_id) == 2  # the replays asked were not committed
    latest = expected[2]
    assert reply["not_replayable_reason"] == latest
    assert await replay_says(uow_factory, rejection_id, None) == latest
    shown, attempts = page_says(as_the_gateway_reads(reply))
    assert shown == latest
    assert attempts == {number: code is None for number, code in expected.items()}


def test_every_refusal_code_is_classified_once_for_replay() -> None:
    """Every RefusalCode says whether a replay as sent could pass (shared.refusals.REPLAY_CAN_PASS), the one table the
    reply, the API and the command line read; a reserved source never can, a member not yet placed may."""
    from shared.reading import replayable_fields
    from shared.refusals import REPLAY_CAN_PASS, RefusalCode

    assert set(REPLAY_CAN_PASS) == set(RefusalCode)
    reserved = replayable_fields("{}", "source: reserved", '{"code": "source_reserved"}')
    assert reserved["replayable_as_sent"] is False and reserved["not_replayable_reason"] == "refused_again_as_sent"
    assert replayable_fields("{}", "data", {"code": "member_not_in_cell"})["replayable_as_sent"] is True
    assert replayable_fields("{}", "data", {"code": "a_code_from_later"})["replayable_as_sent"] is True


def test_the_reply_field_is_typed_and_says_one_answer() -> None:
    """`replayable_as_sent` follows `not_replayable_reason` whatever is sent with it; a code outside the three is
    refused; a reply from a meetings older than the field reads as replayable (the replay still refuses)."""
    base = {"rejection_id": "r-1", "reason": "body: not valid JSON (x)"}
    said = RejectionReply.model_validate(
        base | {"not_replayable_reason": "body_reads_no_json", "replayable_as_sent": True}
    )
    assert said.replayable_as_sent is False and said.not_replayable_reason == "body_reads_no_json"
    assert json.loads(said.model_dump_json())["replayable_as_sent"] is False
    older = RejectionReply.model_validate(base)
    assert older.replayable_as_sent is True and older.not_replayable_reason is None
    with pytest.raises(ValidationError):
        RejectionReply.model_validate(base | {"not_replayable_reason": "cut"})
    attempt = {"attempt": 1, "route": "http", "reason": "x", "received_at": "2026-11-20T19:30:00+07:00"}
    assert (
        RejectionAttemptReply.model_validate(attempt | {"not_replayable_reason": "body_not_kept"}).replayable_as_sent
        is False
    )
    assert RejectionAttemptReply.model_validate(attempt).replayable_as_sent is True
