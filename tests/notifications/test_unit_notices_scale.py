"""org.unit.upserted.v1 of a cell tells only those not told yet of its meetings ahead (a rename of a 9,000-member
cell whose members were all told rendered and offered the notice to all 9,000 again, ~1.2 s), and leaves the notices
the whole-cell decision left."""

from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Unit
from services.notifications.domain.settings import RuleOverride
from services.notifications.handlers import facts
from services.notifications.unit_of_work import NotificationsUnit, NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.envelope import CloudEvent, Event
from shared.envelope import now as wall_clock
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_batches import as_batch, one_by_one, outcome
from tests.notifications.test_member_notices_scale import count_considered


async def whole_cell(item: Event[Any], uow: NotificationsUnit) -> None:
    """The decision before: store the unit snapshot, then every upcoming meeting's notice to the whole cell (each
    person already told kept to once by the notification's key)."""
    data = item.data
    await uow.projection.lock_cell(data.id)
    unit = Unit(
        id=data.id,
        name=data.name,
        kind=data.kind.value,
        parent_id=data.parent_id,
        contact_emails=tuple(data.contact_emails),
        active=data.active,
    )
    if not await uow.projection.upsert_unit(unit, time=item.time, event_id=item.order_id, ns=item.time_ns):
        return
    uow.configs.clear()
    if unit.kind == "cell":
        for meeting in await uow.projection.upcoming_meetings(unit.id, now=uow.now()):
            await facts._notice(r.MEETING_SCHEDULED, meeting, uow)


def _cell(p: Province, name: str, clock: Clock, minutes: int) -> CloudEvent:
    return event(
        "org.unit.upserted.v1",
        {"id": p.cell, "name": name, "kind": "cell", "parent_id": p.committee, "category": "residential"},
        time=clock.value - timedelta(minutes=minutes),
        event_id=f"{p.cell}-u{minutes}",
    )


def _member(p: Province, tag: str, clock: Clock, **data: Any) -> CloudEvent:
    values = {
        "id": f"{p.cell}-x{tag}",
        "full_name": f"Đỗ Thị {tag}",
        "cell_id": p.cell,
        "status": "official",
        "role": "member",
        "email": p.email(f"{p.cell}-x{tag}"),
    } | data
    return event("member.upserted.v1", values, time=clock.value - timedelta(minutes=90), event_id=f"{p.cell}-x{tag}")


async def _override(pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province, enabled: bool) -> None:
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.projection.set_rule_override(RuleOverride(unit_id=p.cell, rule=r.MEETING_SCHEDULED, enabled=enabled))
        await uow.commit()


async def _story(pool: asyncpg.Pool, settings: Settings, clock: Clock, p: Province, units: str) -> None:
    """Members, a monitor and two meetings ahead known before their cell; the cell's first snapshot; members come
    (one exempt, two sharing the cell's mailbox) while the cell's notices are switched off; then a rename, a stale
    snapshot and another rename. `units`: how unit snapshots go (old: whole_cell; alone; together: in batches)."""

    async def units_of(items: list[CloudEvent]) -> None:
        if units == "together":
            await as_batch(pool, settings, clock, items)
        elif units == "alone":
            await one_by_one(pool, settings, clock, items)
        else:
            for item in items:
                async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
                    await whole_cell(read_event(item), uow)
                    await uow.commit()

    setup = p.setup()
    await one_by_one(pool, settings, clock, [item for item in setup if item.data.get("id") != p.cell])
    for meeting_id, days in ((f"{p.cell}-m4", 3), (f"{p.cell}-m5", 9)):
        await one_by_one(pool, settings, clock, [p.scheduled(meeting_id, clock.value + timedelta(days=days))])
    await units_of([_cell(p, "Chi bộ khu phố Đông", clock, 80)])
    await _override(pool, settings, clock, p, False)
    await one_by_one(
        pool,
        settings,
        clock,
        [
            _member(p, "1", clock),
            _member(p, "2", clock, exempt=True),
            _member(p, "3", clock, email=p.email(p.cell)),
            _member(p, "4", clock, email=p.email(p.cell), role="committee_member"),
        ],
    )
    await _override(pool, settings, clock, p, True)
    await units_of([_cell(p, "Chi bộ khu phố Đông Hòa", clock, 60), _cell(p, "Chi bộ cũ", clock, 70)])
    await units_of([_cell(p, "Chi bộ khu phố Tây", clock, 50)])


async def test_unit_snapshots_leave_the_notices_the_whole_cell_decision_left(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    clock = Clock(wall_clock().replace(microsecond=0))
    before, alone, together = Province(), Province(), Province()
    await _story(pool, settings, clock, before, "old")
    await _story(pool, settings, clock, alone, "alone")
    await _story(pool, settings, clock, together, "together")

    expected = await outcome(pool, before)
    heard = {(row[1], row[2]) for row in expected["notices"] if row[0] == "meeting_scheduled"}
    assert {("CELL-m4", "SECRETARY"), ("CELL-m5", "MONITOR"), ("CELL-m4", "CELL-x1"), ("CELL-m5", "CELL-x4")} <= heard
    assert ("CELL-m4", "CELL-x2") not in heard  # exempt
    assert await outcome(pool, alone) == expected
    assert await outcome(pool, together) == expected


async def test_a_rename_of_a_large_cell_considers_only_those_not_told(
    pool: asyncpg.Pool, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit snapshot of an M-member cell with two meetings ahead, all told, considers O(monitors) recipients."""
    clock = Clock(wall_clock().replace(microsecond=0))
    p = Province()
    await one_by_one(pool, settings, clock, p.setup())
    crowd = [_member(p, f"c{n:04d}", clock) for n in range(300)]
    await as_batch(pool, settings, clock, crowd)
    for meeting_id, days in ((f"{p.cell}-m4", 3), (f"{p.cell}-m5", 9)):
        await one_by_one(pool, settings, clock, [p.scheduled(meeting_id, clock.value + timedelta(days=days))])

    considered = count_considered(monkeypatch)
    await as_batch(pool, settings, clock, [_cell(p, "Chi bộ khu phố Tây", clock, 1)])

    notices = await outcome(pool, p)
    assert len({row[2] for row in notices["notices"] if row[1] == "CELL-m4"}) == 300 + 4 + 1 - 1  # not the exempt
    assert sum(considered) <= 2 * 1, considered  # the monitor, already told, may be considered again per meeting
