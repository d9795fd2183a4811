"""An operator closes (dismisses) an open rejection without replaying it, saying why: garbage and dropped held
events no longer stay open for ever (a user trial), and who, when and why stay listed (real PostgreSQL)."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import services.meetings
from services.meetings import handlers, queries
from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from shared.envelope import GATEWAY_SOURCE
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.support.ids import random_id


async def _open_ids(conn: Any, rejection_ids: set[str]) -> set[str]:
    listed = await queries.list_rejections(conn, limit=500, offset=0, type=None, status="open")
    return {item["rejection_id"] for item in listed["items"]} & rejection_ids


async def test_a_dismissed_rejection_is_closed_with_who_when_and_why(meetings_pool: Any, db: Any) -> None:
    app = meetings_context(Settings(), meetings_pool)
    garbage = ev.member(random_id("mem"), random_id("cell"), status="asleep")
    replayable = ev.member(random_id("mem"), random_id("cell"), status="asleep")
    reply = await meetings_rpc.ingest(contract.Ingest(events=[garbage, replayable], route="amqp"), app)
    assert [result.outcome for result in reply.results] == ["rejected", "rejected"]
    ids = {
        row["event_id"]: row["rejection_id"]
        for row in await db.fetch(
            "SELECT event_id, rejection_id FROM meetings.rejection WHERE event_id = ANY($1::text[])",
            [garbage["id"], replayable["id"]],
        )
    }
    dismissed_id = ids[garbage["id"]]
    async with meetings_pool.acquire() as conn:
        assert await _open_ids(conn, set(ids.values())) == set(ids.values())
    closed = await meetings_rpc.dismiss_rejection(
        contract.DismissRejection(rejection_id=dismissed_id, reason="Dữ liệu rác từ thử nghiệm", dismissed_by="op-1"),
        app,
    )
    assert (closed["status"], closed["dismissed_by"], closed["dismissal_reason"]) == (
        "dismissed",
        "op-1",
        "Dữ liệu rác từ thử nghiệm",
    )
    assert closed["dismissed_at"] is not None and closed["reason"]  # the first reason stays
    async with meetings_pool.acquire() as conn:
        assert await _open_ids(conn, set(ids.values())) == {ids[replayable["id"]]}
        listed = await queries.list_rejections(conn, limit=500, offset=0, type=None, status="dismissed")
    assert dismissed_id in {item["rejection_id"] for item in listed["items"]}
    contract.RejectionReply.model_validate(closed)  # the reply the gateway reads
    # closed for good: neither replayed nor dismissed again, each refusal saying it was dismissed
    # (a second dismissal said "nothing to replay": the operator had asked to dismiss)
    for again, nothing in (
        (meetings_rpc.replay_rejection(contract.ReplayRejection(rejection_id=dismissed_id), app), "replay"),
        (
            meetings_rpc.dismiss_rejection(
                contract.DismissRejection(rejection_id=dismissed_id, reason="lần nữa", dismissed_by="op-2"), app
            ),
            "dismiss",
        ),
    ):
        with pytest.raises(RpcError) as refused:
            await again
        assert refused.value.code == "conflict"
        assert refused.value.refusal is not None and refused.value.refusal.code == "already_dismissed"
        assert refused.value.message.endswith(f"; nothing to {nothing}"), refused.value.message
    with pytest.raises(RpcError) as missing:
        await meetings_rpc.dismiss_rejection(
            contract.DismissRejection(rejection_id=random_id("nope"), reason="x", dismissed_by="op-1"), app
        )
    assert missing.value.code == "not_found"


async def test_a_persons_refused_command_is_stored_answered_not_open(meetings_pool: Any, db: Any) -> None:
    """A secretary's form mistakes were counted as open rejections for the operators (5 after routine mistakes),
    though each was answered on the form: a person's refused command (source urn:chibo:gateway) is kept closed as
    answered to that person; an integration's stays open. Migration 0014 closes those stored open before."""
    app = meetings_context(Settings(), meetings_pool)
    person = ev.member(random_id("mem"), random_id("cell"), status="asleep", source=GATEWAY_SOURCE)
    partner = ev.member(random_id("mem"), random_id("cell"), status="asleep")
    reply = await meetings_rpc.ingest(contract.Ingest(events=[person, partner], route="http", account="thu-ky"), app)
    assert [result.outcome for result in reply.results] == ["rejected", "rejected"]
    rows = {
        row["event_id"]: row
        for row in await db.fetch(
            "SELECT event_id, rejection_id, status, dismissed_at, dismissed_by, dismissal_reason"
            " FROM meetings.rejection WHERE event_id = ANY($1::text[])",
            [person["id"], partner["id"]],
        )
    }
    answered, open_one = rows[person["id"]], rows[partner["id"]]
    # closed by the secretary's account the gateway named, not by the gateway's source
    assert (answered["status"], answered["dismissed_by"], answered["dismissal_reason"]) == (
        "dismissed",
        "thu-ky",
        contract.ANSWERED_ON_FORM,
    )
    assert answered["dismissed_at"] is not None
    assert (open_one["status"], open_one["dismissal_reason"]) == ("open", None)
    ids = {answered["rejection_id"], open_one["rejection_id"]}
    async with meetings_pool.acquire() as conn:
        assert await _open_ids(conn, ids) == {open_one["rejection_id"]}
        listed = await queries.list_rejections(conn, limit=500, offset=0, type=None, status="dismissed")
    assert answered["rejection_id"] in {item["rejection_id"] for item in listed["items"]}
    # one stored open before the change is closed by the migration at its reception
    await db.execute("UPDATE meetings.rejection SET status = 'open' WHERE rejection_id = $1", answered["rejection_id"])
    migration = Path(services.meetings.__file__).parent / "migrations" / "0014_person_rejections_answered.sql"
    await db.execute("SET search_path TO meetings; " + migration.read_text() + "; RESET search_path")
    row = await db.fetchrow(
        "SELECT status, dismissed_at = received_at AS at_reception, dismissal_reason FROM meetings.rejection"
        " WHERE rejection_id = $1",
        answered["rejection_id"],
    )
    assert (row["status"], row["at_reception"], row["dismissal_reason"]) == (
        "dismissed",
        True,
        contract.ANSWERED_ON_FORM,
    )
    assert (
        await db.fetchval("SELECT status FROM meetings.rejection WHERE rejection_id = $1", open_one["rejection_id"])
    ) == "open"


async def test_a_persons_held_command_refused_later_is_answered_by_the_account_that_sent_it(
    meetings_pool: Any, db: Any
) -> None:
    """A secretary's command held for something not known yet (a schedule's cell, the account's own unit; a meeting,
    a member, a task or a guest's committee is refused at once: domain.held_or_refused), refused when its hold runs
    out or an operator drops it, is closed as answered to the secretary's account it came from (kept with the hold),
    not to urn:chibo:gateway."""
    app = meetings_context(Settings(), meetings_pool)
    commune, cell = random_id("demo-xa"), random_id("demo-cb")
    meeting = f"{cell}-2026-12"
    feed = [
        ev.unit(commune, kind="committee", name="Đảng ủy xã"),
        ev.unit(cell, parent_id=commune, name="Chi bộ thôn 1"),
        ev.scheduled(meeting, cell, starts_at=ev.BASE_TIME + timedelta(days=330), kind="regular"),
    ]
    await meetings_rpc.ingest(contract.Ingest(events=feed, route="http", account="feed"), app)
    ahead, unknown = ev.BASE_TIME + timedelta(days=340), random_id("demo-cb")
    expiring = ev.scheduled(f"{meeting}-a", unknown, starts_at=ahead, source=GATEWAY_SOURCE, time=ev.BASE_TIME)
    dropped = ev.scheduled(f"{meeting}-b", unknown, starts_at=ahead, source=GATEWAY_SOURCE, time=ev.BASE_TIME)
    for command, account in ((expiring, "thu-ky-het-han"), (dropped, "thu-ky-bo")):
        reply = await meetings_rpc.ingest(contract.Ingest(events=[command], route="http", account=account), app)
        assert [result.outcome for result in reply.results] == ["held"]

    async def closed_by(command: dict[str, Any]) -> Any:
        return await db.fetchrow(
            "SELECT status, dismissed_by, dismissal_reason FROM meetings.rejection WHERE source = $1 AND event_id = $2",
            GATEWAY_SOURCE,
            command["id"],
        )

    async with app.uow_factory() as uow:
        await handlers.drop_held(uow, source=GATEWAY_SOURCE, event_id=dropped["id"], reason="Nhập nhầm")
        await uow.commit()
    while await closed_by(expiring) is None:  # every hold older than now runs out, a sweep of 500 at a time
        async with app.uow_factory() as uow:
            assert await handlers.expire_holds(uow, timeout=timedelta(seconds=0)) >= 1
            await uow.commit()
    for command, account in ((expiring, "thu-ky-het-han"), (dropped, "thu-ky-bo")):
        assert dict(await closed_by(command)) == {
            "status": "dismissed",
            "dismissed_by": account,
            "dismissal_reason": contract.ANSWERED_ON_FORM,
        }


async def test_a_rejection_is_read_by_its_id_with_how_its_replay_judged_it(meetings_pool: Any, db: Any) -> None:
    """The operator page reads a replay's outcome from meetings by the rejection's id (never from its address)."""
    app = meetings_context(Settings(), meetings_pool)
    garbage = ev.member(random_id("mem"), random_id("cell"), status="asleep")
    await meetings_rpc.ingest(contract.Ingest(events=[garbage], route="amqp"), app)
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", garbage["id"])
    read = contract.RejectionReply.model_validate(
        await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=rejection_id), app)
    )
    assert (read.status, read.replay_outcome, read.last_replay_at) == ("open", None, None)
    await meetings_rpc.replay_rejection(contract.ReplayRejection(rejection_id=rejection_id), app)
    again = contract.RejectionReply.model_validate(
        await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=rejection_id), app)
    )
    assert again.status == "open" and again.last_replay_at is not None and again.last_replay_reason
    fixed = {**garbage, "data": {**garbage["data"], "status": "official"}}
    await meetings_rpc.replay_rejection(contract.ReplayRejection(rejection_id=rejection_id, event=fixed), app)
    closed = contract.RejectionReply.model_validate(
        await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=rejection_id), app)
    )
    assert (closed.status, closed.replay_outcome) in {("replayed", "held"), ("replayed", "accepted")}
    with pytest.raises(RpcError) as missing:
        await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=random_id("nope")), app)
    assert missing.value.code == "not_found"
