"""An operator dismisses a flood of rejections by a filter (an operator trial: 2,850 events of a source registered to
another account, `source_of_another_account`, each dismissable only by its own --id): by refusal code, source,
sender and time received, counted first by a dry run, each row closed as one dismissal closes it (who, when, why),
in batches; sent again it closes nothing more (real PostgreSQL, the command line over meetings' real RPC)."""

import asyncio
import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import ValidationError

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.unit_of_work import MeetingsUnitOfWork
from shared.contracts import meetings_rpc as contract
from shared.db import apply_migrations, migration_files
from shared.metrics import REGISTRY
from shared.rpc import RpcRequest, answer
from tests.support.ids import random_id
from tests.support.ops import ops, run_ops

ROOT = Path(__file__).parents[2]
RECEIVED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
"""When the first stored rejection of a test was received (each next one a minute later): fixed, no clock read."""
FOREIGN, UNKNOWN = "source_of_another_account", "source_not_registered"


async def store_rejections(db: asyncpg.Connection, source: str, codes: Sequence[str | None], sender: str) -> list[str]:
    """Store one open rejection of `source` per code of `codes` (None: refusal NULL, as an event invalid by its schema
    is stored), received a minute apart from RECEIVED; their ids."""
    ids = [random_id("rej") for _ in codes]
    await db.executemany(
        "INSERT INTO meetings.rejection (rejection_id, source, event_id, type, reason, field, raw, route, received_at,"
        " refusal, sender) VALUES ($1, $2, $3, 'member.upserted.v1', $4, NULL, '{}', 'http', $5, $6::jsonb, $7)",
        [
            (
                rejection_id,
                source,
                random_id("evt"),
                f"refused: {code}",
                RECEIVED + timedelta(minutes=n),
                json.dumps({"code": code}) if code is not None else None,
                sender,
            )
            for n, (rejection_id, code) in enumerate(zip(ids, codes, strict=True))
        ],
    )
    return ids


async def statuses(db: asyncpg.Connection, source: str) -> dict[str, tuple[str, str | None, str | None]]:
    """Each rejection of `source`: (status, dismissed_by, dismissal_reason)."""
    rows = await db.fetch(
        "SELECT rejection_id, status, dismissed_by, dismissal_reason FROM meetings.rejection WHERE source = $1", source
    )
    return {row["rejection_id"]: (row["status"], row["dismissed_by"], row["dismissal_reason"]) for row in rows}


def dismissed_count() -> float:
    """chibo_rejections_dismissed_total{named_by="filter"} as this process counts it."""
    return REGISTRY.get_sample_value("chibo_rejections_dismissed_total", {"named_by": "filter"}) or 0.0


async def test_a_filtered_dismissal_closes_one_code_in_batches_leaves_the_other_and_is_idempotent(
    meetings_pool: Any, db: asyncpg.Connection
) -> None:
    app = meetings_context(Settings(), meetings_pool)
    source, sender = f"urn:trial:{random_id('src')}", random_id("memberdb")
    codes = [FOREIGN] * 20 + [UNKNOWN] * 10
    ids = await store_rejections(db, source, codes, sender)
    foreign = {rejection_id for rejection_id, code in zip(ids, codes, strict=True) if code == FOREIGN}
    one_code = contract.RejectionFilter(code=FOREIGN, source=source)

    def asked(selected: contract.RejectionFilter, *, dry_run: bool = False) -> contract.DismissRejections:
        return contract.DismissRejections(
            filter=selected, reason="Nguồn của tài khoản khác", dismissed_by="op-1", dry_run=dry_run, batch=7
        )

    counted = await meetings_rpc.dismiss_rejections(asked(one_code, dry_run=True), app)
    assert isinstance(counted.pop("counted_at"), datetime)
    assert counted == {"matched": 20, "dismissed": 0, "remaining": 0, "dry_run": True, "expected_differs": False}
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open"}  # a dry run closes none

    before = dismissed_count()
    done = await meetings_rpc.dismiss_rejections(asked(one_code), app)
    contract.RejectionsDismissedReply.model_validate(done)
    done.pop("counted_at")
    assert done == {"matched": 20, "dismissed": 20, "remaining": 0, "dry_run": False, "expected_differs": False}
    assert dismissed_count() - before == 20
    after = await statuses(db, source)
    assert {after[i] for i in foreign} == {("dismissed", "op-1", "Nguồn của tài khoản khác")}
    assert {after[i] for i in set(ids) - foreign} == {("open", None, None)}  # the other code stays open

    again = await meetings_rpc.dismiss_rejections(asked(one_code), app)
    assert (again["matched"], again["dismissed"]) == (0, 0)  # closed ones are no longer open: nothing more
    assert await statuses(db, source) == after

    # by time received (before exclusive, after inclusive) and by sender: rows 25 to 27 of the other code
    window = contract.RejectionFilter(
        sender=sender, received_after=RECEIVED + timedelta(minutes=25), received_before=RECEIVED + timedelta(minutes=28)
    )
    timed = await meetings_rpc.dismiss_rejections(asked(window), app)
    assert (timed["matched"], timed["dismissed"]) == (3, 3)
    final = await statuses(db, source)
    assert [final[i][0] for i in ids[20:]] == ["open"] * 5 + ["dismissed"] * 3 + ["open"] * 2


async def test_a_confirmation_closes_what_was_counted_or_nothing(meetings_pool: Any, db: asyncpg.Connection) -> None:
    # trial 71: a rejection received between the count and the confirmation was closed with those counted. The
    # count says when it counted; confirmed with that moment as received_before and the count as `expected`, a
    # later arrival stays open, and a count no longer true (some closed meanwhile) closes nothing, saying so
    app = meetings_context(Settings(), meetings_pool)
    source, sender = f"urn:trial:{random_id('src')}", random_id("memberdb")
    counted_ids = await store_rejections(db, source, [FOREIGN] * 3, sender)
    selected = contract.RejectionFilter(code=FOREIGN, source=source)
    said = {"reason": "Nguồn của tài khoản khác", "dismissed_by": "op-1"}
    counted = await meetings_rpc.dismiss_rejections(
        contract.DismissRejections(filter=selected, dry_run=True, **said), app
    )
    assert counted["matched"] == 3
    late = random_id("rej")
    await db.execute(
        "INSERT INTO meetings.rejection (rejection_id, source, event_id, type, reason, raw, route, received_at,"
        " refusal, sender) VALUES ($1, $2, $3, 'member.upserted.v1', 'refused', '{}', 'http', $4, $5::jsonb, $6)",
        late,
        source,
        random_id("evt"),
        counted["counted_at"] + timedelta(microseconds=1),
        json.dumps({"code": FOREIGN}),
        sender,
    )
    pinned = selected.model_copy(update={"received_before": counted["counted_at"]})

    # one of those counted closed meanwhile: the confirmation of 3 closes nothing and says another number matches
    await db.execute("UPDATE meetings.rejection SET status = 'dismissed' WHERE rejection_id = $1", counted_ids[0])
    stale = await meetings_rpc.dismiss_rejections(contract.DismissRejections(filter=pinned, expected=3, **said), app)
    assert (stale["matched"], stale["dismissed"], stale["expected_differs"]) == (2, 0, True)
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open", "dismissed"}
    assert sum(status == "open" for status, _, _ in (await statuses(db, source)).values()) == 3

    # confirmed again with the number now shown: exactly those two closed, the late arrival left open
    done = await meetings_rpc.dismiss_rejections(contract.DismissRejections(filter=pinned, expected=2, **said), app)
    assert (done["matched"], done["dismissed"], done["remaining"], done["expected_differs"]) == (2, 2, 0, False)
    after = await statuses(db, source)
    assert after[late][0] == "open"
    assert [after[i][0] for i in counted_ids[1:]] == ["dismissed", "dismissed"]


async def test_a_batch_rolled_back_and_run_again_is_counted_once(meetings_pool: Any, db: asyncpg.Connection) -> None:
    # a batch that loses a serialization race is rolled back and run again: its rows are counted when they commit
    source = f"urn:trial:{random_id('src')}"
    ids = await store_rejections(db, source, [FOREIGN] * 5, random_id("memberdb"))
    lost: list[int] = []

    class LosesItsFirstCommit(MeetingsUnitOfWork):
        async def commit(self) -> None:
            if not lost:
                lost.append(1)
                raise asyncpg.exceptions.SerializationError("could not serialize access")
            await super().commit()

    app = dataclasses.replace(
        meetings_context(Settings(), meetings_pool), uow_factory=lambda: LosesItsFirstCommit(meetings_pool)
    )
    before = dismissed_count()
    done = await meetings_rpc.dismiss_rejections(
        contract.DismissRejections(
            filter=contract.RejectionFilter(source=source), reason="Trùng lặp", dismissed_by="op-1", batch=7
        ),
        app,
    )
    assert lost == [1]
    assert (done["matched"], done["dismissed"], done["remaining"]) == (5, 5, 0)
    assert dismissed_count() - before == 5
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"dismissed"}
    assert set(await statuses(db, source)) == set(ids)


async def test_the_command_line_dismisses_by_filter_after_a_dry_run_and_refuses_an_empty_filter(
    meetings_service: str, amqp_url: str, database_url: str, db: asyncpg.Connection
) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    source = f"urn:trial:{random_id('src')}"
    ids = await store_rejections(db, source, [FOREIGN] * 4 + [UNKNOWN] * 2 + [None], random_id("memberdb"))
    reason = ("--reason", "Nguồn của tài khoản khác")

    empty = await asyncio.to_thread(run_ops, amqp_url, database_url, "rejections", "dismiss", *reason)
    assert empty.returncode == 2 and "--code" in empty.stderr and "--all" in empty.stderr, empty.stderr
    both = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "dismiss", "--id", ids[0], "--code", FOREIGN, *reason
    )
    assert both.returncode == 2 and "--id names one rejection" in both.stderr, both.stderr
    typo = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "dismiss", "--code", "source_of_another_acount", *reason
    )
    assert typo.returncode == 2 and "--code" in typo.stderr and "source_of_another_acount" in typo.stderr, typo.stderr
    naive = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "dismiss", "--before", "2026-11-02T08:00:00", *reason
    )
    assert naive.returncode == 2 and "--before" in naive.stderr, naive.stderr

    which = ("--source", source, "--code", FOREIGN, "--after", "2026-11-02T08:00:00+07:00")
    counted = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "dismiss", *which, *reason, "--dry-run"
    )
    assert (counted["matched"], counted["dismissed"], counted["dry_run"]) == (4, 0, True)
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open"}
    # confirmed with a count no longer true (trial 71): nothing closed, and said; --expected names no --id
    pinned = ("--before", counted["counted_at"], "--expected", "3")
    stale = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "dismiss", *which, *reason, *pinned)
    assert (stale["matched"], stale["dismissed"], stale["expected_differs"]) == (4, 0, True), stale
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open"}
    one = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "dismiss", "--id", ids[0], "--expected", "1", *reason
    )
    assert one.returncode == 2 and "--expected" in one.stderr, one.stderr
    run = await asyncio.to_thread(run_ops, amqp_url, database_url, "rejections", "dismiss", *which, *reason)
    assert run.returncode == 0, run.stderr
    done = json.loads(run.stdout)
    assert (done["matched"], done["dismissed"], done["remaining"]) == (4, 4, 0)
    # one dismissal, one `operator_action` line (a trial saw two: the audit's and the command's own)
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]  # after "acting on ..."
    logged = [line for line in lines if line.get("event") == "operator_action"]
    assert [(line["action"], line.get("dismissed"), line.get("path")) for line in logged] == [
        ("rejections_dismissed", 4, "/cli/rejections/dismiss")
    ], run.stderr
    assert done["filter"] == {"code": FOREIGN, "source": source, "received_after": "2026-11-02T01:00:00Z"}
    closed = await statuses(db, source)
    assert [closed[i][0] for i in ids] == ["dismissed"] * 4 + ["open"] * 3
    assert {(by or "")[:4] for _, by, _ in closed.values() if by} == {"cli:"}  # who: the command line's login
    again = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "dismiss", *which, *reason)
    assert (again["matched"], again["dismissed"]) == (0, 0)
    without = ("--source", source, "--code", "none", "--dry-run")  # the one stored without a refusal code
    counted = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "dismiss", *without, *reason)
    assert (counted["matched"], counted["filter"]) == (1, {"code": "none", "source": source}), counted

    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        rows = await conn.fetch(
            "SELECT path, status, detail FROM audit_log WHERE path = '/cli/rejections/dismiss'"
            " AND detail -> 'filter' ->> 'source' = $1 ORDER BY id",
            source,
        )
    finally:
        await conn.close()
    assert [(r["path"], r["status"], json.loads(r["detail"])["dismissed"]) for r in rows] == [
        ("/cli/rejections/dismiss", 200, 0),
        ("/cli/rejections/dismiss", 200, 0),  # --expected 3 where 4 matched: nothing closed
        ("/cli/rejections/dismiss", 200, 4),
        ("/cli/rejections/dismiss", 200, 0),
        ("/cli/rejections/dismiss", 200, 0),
    ]


async def test_the_rpc_itself_refuses_an_empty_filter_a_bad_code_and_an_empty_window_and_closes_nothing(
    meetings_pool: Any, db: asyncpg.Connection
) -> None:
    # any caller of DismissRejections (not only the command line and the API, which check first) sends these params:
    # an empty filter without `all` would close every open rejection; a typo or an empty window would match nothing
    methods = meetings_rpc.rpc_methods(meetings_context(Settings(), meetings_pool))
    source = f"urn:trial:{random_id('src')}"
    await store_rejections(db, source, [FOREIGN] * 3, random_id("memberdb"))
    said = {"reason": "Dọn dẹp", "dismissed_by": "op-1"}
    after, before = RECEIVED.isoformat(), (RECEIVED + timedelta(minutes=5)).isoformat()
    refused: list[tuple[dict[str, Any], str, str]] = [
        ({"filter": {}}, "filter.code", "say all"),
        ({"filter": {"code": "source_of_another_acount"}}, "filter.code", "source_of_another_acount"),
        ({"filter": {"received_after": before, "received_before": after}}, "filter.received_after", "before"),
        ({"filter": {"received_after": after, "received_before": after}}, "filter.received_after", "before"),
        ({"filter": {"received_before": "2026-11-02T08:00:00"}}, "filter.received_before", "time"),
    ]
    for params, field, words in refused:
        reply = await answer(RpcRequest(method="dismiss_rejections", params={**params, **said}), methods)
        error = reply["error"] or {}
        assert (reply["ok"], error.get("code"), error.get("field")) == (False, "invalid", field), (params, reply)
        assert words in error["message"], (params, reply)
        assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open"}  # nothing closed
    with pytest.raises(ValidationError):  # a caller in this process cannot build one either
        contract.DismissRejections(filter=contract.RejectionFilter(), reason="Dọn dẹp", dismissed_by="op-1")

    # `all` said explicitly: an empty filter selects every open rejection (a dry run here: other tests' rows too)
    every = await answer(
        RpcRequest(method="dismiss_rejections", params={"filter": {}, "all": True, "dry_run": True, **said}), methods
    )
    assert every["ok"] and every["result"]["matched"] >= 3, every
    assert {status for status, _, _ in (await statuses(db, source)).values()} == {"open"}


async def test_rejections_stored_without_a_code_are_picked_by_the_code_none(
    meetings_pool: Any, db: asyncpg.Connection
) -> None:
    # an event invalid by its schema (a missing field, a wrong value) is stored with refusal NULL: no RefusalCode
    # picks it, `none` (NO_CODE) does, and only it
    app = meetings_context(Settings(), meetings_pool)
    source = f"urn:trial:{random_id('src')}"
    ids = await store_rejections(db, source, [FOREIGN, None, None, UNKNOWN], random_id("memberdb"))
    without = contract.RejectionFilter(code=contract.NO_CODE, source=source)
    asked = contract.DismissRejections(filter=without, reason="Dữ liệu rác", dismissed_by="op-1", dry_run=True)
    assert (await meetings_rpc.dismiss_rejections(asked, app))["matched"] == 2
    done = await meetings_rpc.dismiss_rejections(asked.model_copy(update={"dry_run": False}), app)
    assert (done["matched"], done["dismissed"], done["remaining"]) == (2, 2, 0)
    closed = await statuses(db, source)
    assert [closed[i][0] for i in ids] == ["open", "dismissed", "dismissed", "open"]
