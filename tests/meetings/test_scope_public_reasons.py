"""What a scoped account's refusals publish on chibo.events, and what its sender is told later, never says where an
id outside its subtree lives: only the stored hold or rejection, the operator's page and the log may
(docs/security.md; CONTRACT.md: anyone may bind to chibo.events).

The user trial: an account scoped to a commune cancelled a meeting of another commune over HTTP and was answered as
for an unknown id ("… is not scheduled"); but when the hold expired, the ingest.rejected.v1 every subscriber reads
said "meeting X (in cell Y) lies outside Z, the only subtree this account may write; the sender was answered as for
an unknown id", while a truly unknown id expired with "meeting t3-nope is not scheduled"."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import services.meetings
from services.meetings import handlers
from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts.meetings_rpc import GetHeldEvent, HeldEventReply
from tests.meetings import events as ev
from tests.meetings.test_scope_leaks import CASES, START, Build, as_commune, roster
from tests.meetings.test_scope_leaks import tree as tree  # the fixture
from tests.meetings.test_scope_operator_reason import _operator
from tests.support.ids import random_id
from tests.support.running import eventually

OUTSIDE = "the only subtree this account may write"


async def published_reason(db: Any, event_id: str) -> str:
    """The reason of the one ingest.rejected.v1 meetings published about `event_id` (from its outbox)."""
    reasons = await db.fetch(
        "SELECT payload -> 'data' ->> 'reason' AS reason FROM meetings.outbox"
        " WHERE type = 'ingest.rejected.v1' AND payload -> 'data' ->> 'event_id' = $1",
        event_id,
    )
    assert len(reasons) == 1, reasons
    return str(reasons[0]["reason"])


async def expire(db: Any, pool: Any, *event_ids: str) -> None:
    """Run the hold expiry over these held events only (made older than its timeout; the others are younger)."""
    await db.execute(
        "UPDATE meetings.held_event SET held_at = held_at - interval '2 days' WHERE event_id = ANY($1::text[])",
        list(event_ids),
    )
    app = meetings_context(Settings(), pool)
    async with app.uow_factory() as uow:
        await handlers.expire_holds(uow, timeout=timedelta(days=1))
        await uow.commit()
    # expired by this run or by the service's own sweep, which may pass first (a count of this run's would race it);
    # a sweep holding the rows (SKIP LOCKED) when this run passed commits them a moment later: wait for it

    async def none_left() -> bool:
        sql = "SELECT count(*) FROM meetings.held_event WHERE event_id = ANY($1::text[])"
        return bool(await db.fetchval(sql, list(event_ids)) == 0)

    await eventually(none_left, timeout=60)


@pytest.mark.parametrize(("case", "outside", "build"), CASES, ids=[case for case, _, _ in CASES])
async def test_an_expired_hold_on_an_id_outside_publishes_what_an_unknown_id_does(  # type: ignore[no-untyped-def]
    tree, db, meetings_pool, case: str, outside: str, build: Build
) -> None:
    ids = tree["ids"]
    unknown = random_id("nobody")
    there, nowhere = build(ids, ids[outside]), build(ids, unknown)
    assert (await as_commune(tree, there))["outcome"] == "held"
    assert (await as_commune(tree, nowhere))["outcome"] == "held"
    await expire(db, meetings_pool, there["id"], nowhere["id"])

    public = await published_reason(db, there["id"])
    assert public.replace(ids[outside], "<id>") == (await published_reason(db, nowhere["id"])).replace(unknown, "<id>")
    for word in ("outside", ids["xa"], ids["kp3"], ids["phuong"]):
        assert word not in public.replace(ids[outside], "<id>")
    # the operator's stored rejection keeps the real reason
    stored = await db.fetchval(
        "SELECT reason FROM meetings.rejection WHERE event_id = $1 AND status = 'open'", there["id"]
    )
    assert f"lies outside {ids['xa']}, {OUTSIDE}" in stored and "still unresolved after" in stored


async def test_an_id_taken_outside_publishes_the_senders_answer(tree, db) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    taken = ev.scheduled(ids["mtg-out"], ids["thon1"], starts_at=START)
    result = await as_commune(tree, taken)
    assert result["outcome"] == "rejected"
    assert await published_reason(db, taken["id"]) == result["reason"]
    stored = await db.fetchval("SELECT reason FROM meetings.rejection WHERE event_id = $1", taken["id"])
    assert f"lies outside {ids['xa']}, {OUTSIDE}" in stored


async def test_a_dropped_hidden_hold_publishes_the_senders_answer(tree, db, meetings_pool) -> None:  # type: ignore[no-untyped-def]
    ids = tree["ids"]
    cancelled = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg-out"], "reason": "Trùng lịch"})
    sent = await as_commune(tree, cancelled)
    assert sent["reason"] == f"data.meeting_id: meeting {ids['mtg-out']} is not scheduled"
    source = f"urn:test:feed-{ids['xa']}"
    dropped = await _operator(meetings_pool)["drop"](source=source, event_id=cancelled["id"], reason="Sai xã")
    assert OUTSIDE in dropped["reason"]  # the operator who dropped it reads why
    public = await published_reason(db, cancelled["id"])
    assert public == f"dropped by an operator: Sai xã (was waiting for meeting:{ids['mtg-out']}: {sent['reason']})"


async def test_the_held_events_answer_to_its_sender_is_kept_beside_the_real_reason(tree, meetings_pool) -> None:  # type: ignore[no-untyped-def]
    """A web form sent again while its first sending is held repeats the first answer (gateway still_held): the
    held event gives it as `answer`, beside the operator's `reason`."""
    ids = tree["ids"]
    cancelled = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg-out"], "reason": "Trùng lịch"})
    sent = await as_commune(tree, cancelled)
    app = meetings_context(Settings(), meetings_pool)
    asked = GetHeldEvent(source=f"urn:test:feed-{ids['xa']}", event_id=cancelled["id"])
    held = HeldEventReply.model_validate(await meetings_rpc.get_held_event(asked, app))
    assert OUTSIDE in held.reason and held.answer == sent["reason"]


async def test_a_hold_made_before_the_answer_was_kept_expires_with_the_unknown_ids_wording(  # type: ignore[no-untyped-def]
    tree, db, meetings_pool
) -> None:
    """Migration 0012 gives the holds made before it (the operator's reason only) the answer their sender got."""
    ids = tree["ids"]
    cancelled = ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg-out"], "reason": "Trùng lịch"})
    member = roster(ids["mtg-in"], {ids["m-in"]: "present", ids["m-out"]: "present"})
    sent = [await as_commune(tree, event) for event in (cancelled, member)]
    event_ids = [cancelled["id"], member["id"]]
    await db.execute("UPDATE meetings.held_event SET answer = NULL WHERE event_id = ANY($1::text[])", event_ids)
    migration = Path(services.meetings.__file__).parent / "migrations" / "0012_hold_answer.sql"
    async with db.transaction():
        await db.execute("SET LOCAL search_path TO meetings")
        await db.execute(migration.read_text(encoding="utf-8"))
    await expire(db, meetings_pool, *event_ids)
    for event_id, answer in zip(event_ids, sent, strict=True):
        assert await published_reason(db, event_id) == f"{answer['reason']} (still unresolved after 86400 s)"
