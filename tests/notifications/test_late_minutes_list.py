"""The committee page's meetings with late minutes, read from notifications' projection (list_late_minutes): every
meeting of the committee's subtree starting in the period whose minutes or final documents are missing past the
days set for its cell (DOMAIN.md: 2 days; a sub-committee's override applies below it), not cancelled, however many
alerts the committee's inbox holds; a meeting whose records arrive late is then listed after them as submitted late,
with when they arrived (real database)."""

from datetime import datetime, timedelta

import asyncpg

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ, month_of
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.support.ids import random_id

LATE = 23
"""More late meetings than the 20 newest inbox alerts the page used to read them from."""


def unit(unit_id: str, kind: str, parent_id: str | None, name: str, *, time: datetime) -> CloudEvent:
    """org.unit.upserted.v1."""
    data = {"id": unit_id, "name": name, "kind": kind, "parent_id": parent_id}
    return event("org.unit.upserted.v1", data | ({"category": "residential"} if kind == "cell" else {}), time=time)


def scheduled(meeting_id: str, cell_id: str, starts_at: datetime) -> CloudEvent:
    """meeting.scheduled.v1 of a regular meeting."""
    data = {"meeting_id": meeting_id, "cell_id": cell_id, "kind": "regular", "starts_at": starts_at.isoformat()}
    return event("meeting.scheduled.v1", data | {"location": "Nhà văn hóa", "agenda": ["Sinh hoạt thường kỳ"]})


def published(meeting_id: str, *kinds: str, at: datetime) -> CloudEvent:
    """documents.published.v1 of these kinds."""
    items = [{"title": f"Văn bản {kind}", "kind": kind} for kind in kinds]
    return event("documents.published.v1", {"meeting_id": meeting_id, "published_at": at.isoformat(), "items": items})


async def test_every_late_meeting_of_the_subtree_is_listed_and_none_whose_records_arrived_or_that_was_cancelled(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    t = p.origin
    sub, sub_cell, other, other_cell = random_id("ward"), random_id("cell"), random_id("ward"), random_id("cell")
    await handle(
        pool,
        settings,
        clock,
        *p.setup(),
        unit(sub, "committee", p.committee, "Đảng ủy khối", time=t),
        unit(sub_cell, "cell", sub, "Chi bộ cơ quan", time=t),
        unit(other, "committee", None, "Đảng ủy xã khác", time=t),
        unit(other_cell, "cell", other, "Chi bộ thôn khác", time=t),
    )
    month_start = (clock.value - timedelta(days=62)).replace(day=1, hour=19, minute=30, second=0)
    period = month_of(month_start)
    late = [random_id("mtg") for _ in range(LATE)]
    done, partly, cancelled, sub_meeting, elsewhere, before, on_time = (random_id("mtg") for _ in range(7))
    on_time_end = month_start + timedelta(days=8, hours=2)
    on_time_minutes = p.minutes(on_time, on_time_end).model_copy(update={"time": on_time_end + timedelta(hours=3)})
    await handle(
        pool,
        settings,
        clock,
        *[scheduled(m, p.cell, month_start + timedelta(hours=index)) for index, m in enumerate(late)],
        scheduled(done, p.cell, month_start + timedelta(days=3)),
        scheduled(partly, p.cell, month_start + timedelta(days=4)),
        scheduled(cancelled, p.cell, month_start + timedelta(days=5)),
        scheduled(sub_meeting, sub_cell, month_start + timedelta(days=6)),
        scheduled(elsewhere, other_cell, month_start + timedelta(days=7)),
        scheduled(before, p.cell, month_start - timedelta(days=3)),
        p.minutes(done, month_start + timedelta(days=3, hours=2)),
        published(done, "minutes", "resolution", at=month_start + timedelta(days=10)),  # after the alert's time
        p.minutes(partly, month_start + timedelta(days=4, hours=2)),
        published(partly, "minutes", at=month_start + timedelta(days=5)),
        event("meeting.cancelled.v1", {"meeting_id": cancelled, "reason": "Trùng lịch"}),
        scheduled(on_time, p.cell, month_start + timedelta(days=8)),
        on_time_minutes,
        published(on_time, "minutes", "resolution", at=on_time_end + timedelta(days=1)),
    )
    commands = Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))
    await commands.set_rule(sub, "minutes_late", {"days_after": 100})  # the sub-committee allows 100 days

    page = await commands.late_minutes(p.committee, period, limit=50)
    assert page["total"] == LATE + 2
    listed = [item["meeting_id"] for item in page["items"]]
    # the longest overdue first, the oldest of them included; then the one whose records came late (on time: not)
    assert listed == [*late, partly, done]
    by_id = {item["meeting_id"]: item for item in page["items"]}
    assert by_id[partly]["missing"] == ["resolution"] and by_id[partly]["arrived_at"] is None
    assert by_id[done]["missing"] == []
    arrived = datetime.fromisoformat(by_id[done]["arrived_at"])
    assert arrived >= month_start + timedelta(days=10) and arrived > datetime.fromisoformat(by_id[done]["due_at"])
    assert by_id[late[0]]["missing"] == ["minutes_submitted", "minutes", "resolution"]
    assert by_id[late[0]]["cell_name"] == "Chi bộ khu phố Đông"

    first = await commands.late_minutes(p.committee, period, limit=5)
    assert (len(first["items"]), first["total"]) == (5, LATE + 2)
    assert (await commands.late_minutes(sub, period, limit=50))["total"] == 0

    # the records of the oldest late meeting arrive: it leaves the overdue ones and is listed as submitted late
    await handle(
        pool,
        settings,
        clock,
        p.minutes(late[0], month_start + timedelta(hours=2)),
        published(late[0], "minutes", "resolution", at=clock.value),
    )
    after = await commands.late_minutes(p.committee, period, limit=50)
    assert after["total"] == LATE + 2
    assert [item["meeting_id"] for item in after["items"]] == [*late[1:], partly, late[0], done]
    assert after["items"][-2]["arrived_at"] is not None and after["items"][-2]["missing"] == []
