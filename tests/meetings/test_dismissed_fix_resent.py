"""An operator trial: two open rejections were dismissed (`POST /v1/rejections/dismiss`, the command line's
`rejections dismiss`), then the integrator resent both events fixed under the same (source, id); both were accepted,
but their rejections still read `dismissed` with `replay_outcome` null, so the dismissed list showed as dropped two
events that were in. An accepted event closes its rejection as replayed, outcome `accepted`, whether the rejection was
open or dismissed (docs/integrations.md "Idempotency"), the dismissal's who, when and why kept: by every way an event
is accepted (HTTP one or a batch, AMQP one or a batch, a bulk load, a hold released, an operator's replay), and the
status counts, the lists by status and the metrics move with it. Over the real database."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.meetings import queries
from services.meetings import rpc as meetings_rpc
from services.meetings.bulk.load import bulk_load
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from shared.envelope import GATEWAY_SOURCE
from shared.metrics import REGISTRY
from shared.refusals import RefusalCode
from shared.rpc import RpcError
from tests.meetings import events as ev
from tests.meetings.test_batch_route_names import deliver
from tests.meetings.test_bulk_fix_closes_rejection import open_count
from tests.support.ids import random_id

TYPE = "member.upserted.v1"
REASON = "Đối tác gửi nhầm, bỏ qua"


def dismissals() -> float:
    """chibo_rejections_dismissed_total over both ways of naming, as this process counts it."""
    return sum(
        REGISTRY.get_sample_value("chibo_rejections_dismissed_total", {"named_by": by}) or 0.0
        for by in ("id", "filter")
    )


async def rejection_of(pool: asyncpg.Pool, event: dict[str, Any]) -> dict[str, Any]:
    """The stored rejection of `event`'s (source, id) as meetings' get_rejection replies it."""
    rejection_id = await pool.fetchval(
        "SELECT rejection_id FROM rejection WHERE source = $1 AND event_id = $2", event["source"], event["id"]
    )
    app = meetings_context(Settings(), pool)
    return await meetings_rpc.get_rejection(contract.GetRejection(rejection_id=rejection_id), app)


async def listed(pool: asyncpg.Pool, status: str) -> tuple[set[str], dict[str, int]]:
    """The ids of the rejections of TYPE listed under `status`, and the list's counts."""
    async with pool.acquire() as conn:
        page = await queries.list_rejections(conn, limit=500, offset=0, type=TYPE, status=status)
    return {item["rejection_id"] for item in page["items"]}, dict(page["counts"])


async def dismiss_by_filter(pool: asyncpg.Pool, source: str) -> None:
    """Dismiss every open rejection of `source` as the trial's operator did (a filtered dismissal)."""
    app = meetings_context(Settings(), pool)
    done = await meetings_rpc.dismiss_rejections(
        contract.DismissRejections(
            filter=contract.RejectionFilter(source=source), reason=REASON, dismissed_by="op-t70"
        ),
        app,
    )
    assert done["dismissed"] == 2, done


async def assert_in_and_said(pool: asyncpg.Pool, event: dict[str, Any], dismissed: dict[str, Any]) -> None:
    """`event`'s rejection reads replayed, accepted, the dismissal it had kept, and a replay says it was accepted."""
    now = await rejection_of(pool, event)
    said = {key: now[key] for key in ("status", "replay_outcome", "dismissed_by", "dismissal_reason", "dismissed_at")}
    assert said == {
        "status": "replayed",
        "replay_outcome": "accepted",
        "dismissed_by": "op-t70",
        "dismissal_reason": REASON,
        "dismissed_at": dismissed["dismissed_at"],
    }
    contract.RejectionReply.model_validate(now)
    app = meetings_context(Settings(), pool)
    with pytest.raises(RpcError) as replayed:
        await meetings_rpc.replay_rejection(contract.ReplayRejection(rejection_id=now["rejection_id"]), app)
    refusal = replayed.value.refusal
    assert replayed.value.code == "conflict" and refusal is not None
    assert (refusal.code, refusal.outcome) == (RefusalCode.ALREADY_REPLAYED, "accepted")
    assert refusal.accepted_at is not None


@pytest.mark.parametrize(
    "resent", ["http", "http-batch", "amqp", "amqp-batch", "bulk", "held_then_applied", "dismissed_while_held"]
)
async def test_a_fix_accepted_after_its_rejection_was_dismissed_closes_it_as_accepted(  # type: ignore[no-untyped-def]
    meetings_pool, uow_factory, tmp_path: Path, resent: str
) -> None:
    source, cell = f"urn:trial:{random_id('t70')}", random_id("cb")
    held_cell = random_id("cb") if resent in ("held_then_applied", "dismissed_while_held") else cell
    assert await deliver("http", [ev.unit(cell)], uow_factory) == ["accepted"]
    broken = [ev.member(random_id("dv"), cell, status="nonsense", source=source) for _ in range(2)]  # t70-x2, t70-x14
    fixed = [ev.member(raw["data"]["id"], held_cell, id=raw["id"], source=source) for raw in broken]
    assert await deliver("http", broken, uow_factory) == ["rejected", "rejected"]
    if resent == "dismissed_while_held":  # resent while open, held for its cell; dismissed meanwhile
        assert await deliver("http", fixed, uow_factory) == ["held", "held"]
    open_before = await open_count(meetings_pool)
    counted = dismissals()
    await dismiss_by_filter(meetings_pool, source)
    assert dismissals() - counted == 2
    assert await open_count(meetings_pool) == open_before - 2
    dismissed = [await rejection_of(meetings_pool, raw) for raw in broken]
    assert {row["status"] for row in dismissed} == {"dismissed"}
    ids = {row["rejection_id"] for row in dismissed}
    in_dismissed, counts = await listed(meetings_pool, "dismissed")
    assert ids <= in_dismissed

    if resent == "bulk":
        path = tmp_path / "fixed.jsonl"
        path.write_text("".join(json.dumps(raw, ensure_ascii=False) + "\n" for raw in fixed), encoding="utf-8")
        assert (await bulk_load(path, meetings_pool, chunk_size=20, progress=False)).outcomes["accepted"] == 2
    elif resent == "held_then_applied":  # its cell unknown yet: held (still dismissed), then applied
        assert await deliver("http", fixed, uow_factory) == ["held", "held"]
        assert {(await rejection_of(meetings_pool, raw))["status"] for raw in broken} == {"dismissed"}
        assert await deliver("amqp", [ev.unit(held_cell)], uow_factory) == ["accepted"]
    elif resent == "dismissed_while_held":
        assert await deliver("amqp", [ev.unit(held_cell)], uow_factory) == ["accepted"]
    else:
        assert await deliver(resent, fixed, uow_factory) == ["accepted", "accepted"]

    for raw, before in zip(broken, dismissed, strict=True):
        assert await meetings_pool.fetchval("SELECT cell_id FROM member WHERE id = $1", raw["data"]["id"]) == held_cell
        await assert_in_and_said(meetings_pool, raw, before)
    # no longer listed as dropped: listed as replayed, counted so (the total the same), and never open again
    in_dismissed_now, counts_now = await listed(meetings_pool, "dismissed")
    in_replayed, _ = await listed(meetings_pool, "replayed")
    assert not ids & in_dismissed_now and ids <= in_replayed
    assert counts_now["dismissed"] == counts["dismissed"] - 2
    assert counts_now["replayed"] == counts["replayed"] + 2
    assert counts_now["total"] == counts["total"]
    assert counts_now["total"] == counts_now["open"] + counts_now["replayed"] + counts_now["dismissed"]
    assert await open_count(meetings_pool) == open_before - 2  # the dismissal made them not open; they stay so
    assert dismissals() - counted == 2  # a dismissal that happened stays counted once


async def test_a_persons_command_answered_on_its_form_and_sent_again_corrected_reads_accepted(
    meetings_pool: asyncpg.Pool,
) -> None:
    """A secretary's command refused on the form is stored dismissed (answered to the person); sent again corrected
    under the same Idempotency-Key (the same event id) and accepted, its rejection says so, the answer kept; an
    operator's replay of one answered on its form closes it alike."""
    app = meetings_context(Settings(), meetings_pool)
    cell = random_id("cb")
    await meetings_rpc.ingest(contract.Ingest(events=[ev.unit(cell)], route="http", account="feed"), app)
    resent, replayed = (
        ev.scheduled(
            random_id("mtg"), cell, starts_at=ev.BASE_TIME + timedelta(days=day), kind="nonsense", source=GATEWAY_SOURCE
        )
        for day in (330, 340)
    )
    reply = await meetings_rpc.ingest(contract.Ingest(events=[resent, replayed], route="http", account="thu-ky"), app)
    assert [result.outcome for result in reply.results] == ["rejected", "rejected"]
    answered = {raw["id"]: await rejection_of(meetings_pool, raw) for raw in (resent, replayed)}
    assert {(row["status"], row["dismissal_reason"]) for row in answered.values()} == {
        ("dismissed", contract.ANSWERED_ON_FORM)
    }

    corrected = {**resent, "data": {**resent["data"], "kind": "regular"}}
    reply = await meetings_rpc.ingest(contract.Ingest(events=[corrected], route="http", account="thu-ky"), app)
    assert [result.outcome for result in reply.results] == ["accepted"]
    await meetings_rpc.replay_rejection(
        contract.ReplayRejection(
            rejection_id=answered[replayed["id"]]["rejection_id"],
            event={**replayed, "data": {**replayed["data"], "kind": "regular"}},
        ),
        app,
    )
    for raw in (resent, replayed):
        now = await rejection_of(meetings_pool, raw)
        assert (now["status"], now["replay_outcome"], now["dismissed_by"], now["dismissal_reason"]) == (
            "replayed",
            "accepted",
            "thu-ky",
            contract.ANSWERED_ON_FORM,
        )
        assert now["dismissed_at"] == answered[raw["id"]]["dismissed_at"]
