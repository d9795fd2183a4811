"""Points for an item that does not apply to the meeting's kind are refused naming the item.

A new user's trial sent `{"role": "cell_committee", "points": {"conduct.thematic_content": 5}}` for an extraordinary
meeting: accepted with no notice, while the score never counts it (DOMAIN.md's framework: `conduct.thematic_content`
only for thematic and combined meetings; `conduct.regular_content` not for a standalone thematic one). The framework
says which kinds each item applies to (`applies_to`, data), and meetings judges an assessment by it, on both routes
as for an unknown item code (CONTRACT.md: assessment points use only the items of the framework in force).
"""

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pytest

from services.meetings import handlers
from shared.contracts.frameworks import (
    FrameworkAdopted,
    ItemTable,
    check_points,
    merged_tables,
    shipped_item_tables,
    table_of,
)
from shared.envelope import GATEWAY_SOURCE, InvalidEvent, now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.support.ids import random_id


async def meeting_of_kind(uow_factory: Any, kind: str) -> str:
    """A fresh cell with one member and a meeting of `kind` that began two hours ago: the meeting's id."""
    cell, member, meeting = random_id("cell"), random_id("mem"), random_id("mtg")
    before = now() - timedelta(days=30)
    batch = [
        ev.unit(cell, time=before),
        ev.member(member, cell, time=before),
        ev.scheduled(meeting, cell, starts_at=now() - timedelta(hours=2), kind=kind, time=before),
    ]
    results = await handlers.ingest_batch(batch, uow_factory, route="test")
    assert [r.outcome for r in results] == ["accepted"] * len(batch), [r.reason for r in results]
    return meeting


def assessed(meeting: str, points: Mapping[str, float], **kw: Any) -> dict[str, Any]:
    """meeting.assessed.v1 of the meeting by the cell committee, timed now."""
    data = {"meeting_id": meeting, "assessor": {"role": "cell_committee"}, "points": points}
    return ev.raw_event("meeting.assessed.v1", data, time=now(), **kw)


def judged(results: list[Any]) -> list[tuple[str, str | None, str | None]]:
    """(outcome, field, refusal code) of each result."""
    return [(r.outcome, r.field, r.refusal and str(r.refusal.code)) for r in results]


NOT_APPLICABLE = RefusalCode.ITEM_NOT_APPLICABLE.value


@pytest.mark.parametrize("source", [ev.SOURCE, GATEWAY_SOURCE])
async def test_thematic_points_on_an_extraordinary_meeting_are_refused_naming_the_item(
    uow_factory: Any, source: str
) -> None:
    meeting = await meeting_of_kind(uow_factory, "extraordinary")
    sent = [
        assessed(meeting, {"conduct.thematic_content": 5}, source=source),
        assessed(meeting, {"conduct.procedure": 4, "conduct.regular_content": 8}, source=source),
    ]
    results = await handlers.ingest_batch(sent, uow_factory, route="http")
    assert judged(results) == [
        ("rejected", "data.points.conduct.thematic_content", NOT_APPLICABLE),
        ("accepted", None, None),
    ]
    reason = results[0].reason
    assert reason is not None and "applies only to combined, thematic meetings, not to this extraordinary" in reason


async def test_each_kind_takes_only_the_items_that_apply_to_it(uow_factory: Any) -> None:
    thematic, combined, regular = [
        await meeting_of_kind(uow_factory, kind) for kind in ("thematic", "combined", "regular")
    ]
    both = {"conduct.regular_content": 8, "conduct.thematic_content": 4}
    results = await handlers.ingest_batch(
        [assessed(thematic, both), assessed(combined, both), assessed(regular, {"conduct.thematic_content": 4})],
        uow_factory,
        route="test",
    )
    assert judged(results) == [
        ("rejected", "data.points.conduct.regular_content", NOT_APPLICABLE),
        ("accepted", None, None),
        ("rejected", "data.points.conduct.thematic_content", NOT_APPLICABLE),
    ]


def test_the_kinds_come_from_the_framework_and_an_adoption_published_without_them_reads_the_shipped_file() -> None:
    table = ItemTable("ward", "1", date(2026, 1, 1), {"a.b": 3.0}, manual_kinds={"a.b": frozenset({"thematic"})})
    check_points({"a.b": 3}, table=table, kind="thematic")
    check_points({"a.b": 3}, table=table)  # the kind not known: not judged
    with pytest.raises(InvalidEvent) as refused:
        check_points({"a.b": 3}, table=table, kind="regular")
    assert refused.value.field == "data.points.a.b"
    # an adoption of the shipped framework published before `applies_to` (kept by meetings as it came)
    shipped = next(table for table in shipped_item_tables() if table.framework_id == "hd42-2025")
    items = [{"code": code, "max": top, "manual": True} for code, top in shipped.manual_maxima.items()]
    adopted = FrameworkAdopted.model_validate(
        {
            "framework_id": shipped.framework_id,
            "version": shipped.version,
            "effective_from": shipped.effective_from.isoformat(),
            "sequence": 1,
            "items": items,
        }
    )
    [merged] = [table for table in merged_tables([table_of(adopted)]) if table.key == shipped.key]
    assert merged.sequence == 1 and merged.manual_kinds == shipped.manual_kinds
    with pytest.raises(InvalidEvent):
        check_points({"conduct.thematic_content": 5}, table=merged, kind="extraordinary")
