"""member.upserted.v1 into a cell with a meeting ahead considers only the members it stores (a trial's 1,000
upserts into a 9,000-member cell considered the whole cell again for each: ~1 event/s), and leaves the notices the
whole-cell decision left."""

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert
from services.notifications.handlers import facts
from services.notifications.unit_of_work import NotificationsUnit, NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, Event
from shared.envelope import now as wall_clock
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_batches import as_batch, one_by_one, outcome, prepare


async def whole_cell(item: Event[Any], uow: NotificationsUnit) -> None:
    """The decision before: store the snapshot, plan its probation, then every upcoming meeting's notice to the whole
    cell (each member already told kept to once by the notification's key)."""
    await uow.projection.lock_cell(item.data.cell_id)
    member = facts._member_of(item)
    if not await uow.projection.upsert_member(member, time=item.time, event_id=item.order_id, ns=item.time_ns):
        return
    await facts.plan_probation(member, uow)
    for meeting in await uow.projection.upcoming_meetings(member.cell_id, now=uow.now()):
        await facts._notice(r.MEETING_SCHEDULED, meeting, uow)


def _snapshot(
    p: Province, member_id: str, tag: str, clock: Clock, *, at: timedelta = timedelta(minutes=30), **data: Any
) -> CloudEvent:
    values = {
        "id": member_id,
        "full_name": f"Đỗ Thị {tag}",
        "cell_id": p.cell,
        "status": "official",
        "role": "member",
        "email": p.email(member_id),
    } | data
    return event("member.upserted.v1", values, time=clock.value - at, event_id=f"{p.cell}-u{tag}")


def _members(p: Province, clock: Clock, other_cell: str) -> list[CloudEvent]:
    """Newcomers (one exempt, one probationary, one committee member, two sharing a mailbox, one named twice, one
    moving in from another cell) and snapshots of members already told (one newer, one stale)."""
    return [
        _snapshot(p, f"{p.cell}-x1", "1", clock),
        _snapshot(p, f"{p.cell}-x2", "2", clock, exempt=True),
        _snapshot(p, f"{p.cell}-x3", "3", clock, status="probationary", admitted_on="2026-01-02"),
        _snapshot(p, f"{p.cell}-x4", "4", clock, role="committee_member", email=p.email(p.cell)),
        _snapshot(p, f"{p.cell}-x5", "5", clock, email=p.email(p.cell)),
        _snapshot(p, f"{p.cell}-x6", "6", clock, cell_id=other_cell),
        _snapshot(p, p.member, "7", clock, full_name="Lê Văn Đức"),
        _snapshot(p, p.deputy, "8", clock, at=clock.value - p.origin + timedelta(days=1), role="deputy_secretary"),
        _snapshot(p, f"{p.cell}-x1", "9", clock, at=timedelta(minutes=10)),
        _snapshot(p, f"{p.cell}-x6", "10", clock, at=timedelta(minutes=10)),
    ]


def count_considered(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, the recipients each facts.raise_alerts call considers (all its alerts' together), one number a
    call in order; the calls still raise the alerts."""
    considered: list[int] = []
    raise_alerts = facts.raise_alerts

    async def counted(alerts: Sequence[Alert], uow: NotificationsUnit) -> int:
        considered.append(sum(len(alert.recipients) for alert in alerts))
        return await raise_alerts(alerts, uow)

    monkeypatch.setattr(facts, "raise_alerts", counted)
    return considered


async def test_member_snapshots_leave_the_notices_the_whole_cell_decision_left(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    before, alone, together = Province(), Province(), Province()
    for p in (before, alone, together):
        await prepare(pool, settings, clock, p)
        await one_by_one(pool, settings, clock, [p.scheduled(f"{p.cell}-m4", clock.value + timedelta(days=3))])
        await one_by_one(pool, settings, clock, [p.scheduled(f"{p.cell}-m5", clock.value + timedelta(days=9))])
    for item in _members(before, clock, f"{before.cell}-elsewhere"):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await whole_cell(read_event(item), uow)
            await uow.commit()
    await one_by_one(pool, settings, clock, _members(alone, clock, f"{alone.cell}-elsewhere"))
    await as_batch(pool, settings, clock, _members(together, clock, f"{together.cell}-elsewhere"))

    expected = await outcome(pool, before)
    heard = {(row[1], row[2]) for row in expected["notices"] if row[0] == "meeting_scheduled"}
    assert {("CELL-m4", "CELL-x1"), ("CELL-m5", "CELL-x5"), ("CELL-m4", "CELL-x4")} <= heard
    assert ("CELL-m4", "CELL-x2") not in heard  # exempt
    assert await outcome(pool, alone) == expected
    assert await outcome(pool, together) == expected


@pytest.mark.parametrize("batched", [True, False])
async def test_upserts_into_a_large_cell_consider_only_the_members_they_store(
    pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch, batched: bool
) -> None:
    """N upserts into an M-member cell with two meetings ahead consider O(N) recipients, not O(N x M)."""
    clock = Clock(wall_clock().replace(microsecond=0))
    p = Province()
    await prepare(pool, settings, clock, p)
    crowd = [_snapshot(p, f"{p.cell}-c{n:04d}", f"c{n}", clock) for n in range(300)]
    await as_batch(pool, settings, clock, crowd)  # no meeting ahead yet
    for meeting_id, days in ((f"{p.cell}-m4", 3), (f"{p.cell}-m5", 9)):
        await one_by_one(pool, settings, clock, [p.scheduled(meeting_id, clock.value + timedelta(days=days))])

    considered = count_considered(monkeypatch)
    newcomers = [_snapshot(p, f"{p.cell}-n{n:03d}", f"n{n}", clock) for n in range(20)]
    await (as_batch if batched else one_by_one)(pool, settings, clock, newcomers)

    notices = await outcome(pool, p)
    told = {row[2] for row in notices["notices"] if row[0] == "meeting_scheduled" and "-n" in row[2]}
    assert len(told) == 20
    # each newcomer hears of 2 meetings (the monitor, already told, may be considered again once per meeting)
    assert sum(considered) <= 2 * (20 + 1), considered
