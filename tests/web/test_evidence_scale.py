"""The yearly evidence of a large cell: work per member that does not grow with the cell (a user trial's page took
269 s at 20,305 members). Counted, not timed: the evidence orders its members once (members_by_id, by name) and
not again, and its CSV works out the year's columns once, not for every row.

The reads are given as the gateway's read functions return them, without a running system."""

import importlib
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http import reads
from services.gateway.web import data
from shared import collation

evidence_module = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's `exports` attribute is its pages' module of the same name)."""

YEAR = "2025"


def members(count: int) -> dict[str, dict[str, Any]]:
    """`count` members by id in Vietnamese order of their names, as members_by_id gives them."""
    found = {
        f"dv-{index:05d}": {"id": f"dv-{index:05d}", "full_name": f"Nguyễn Văn {index:05d}"} for index in range(count)
    }
    return collation.by_person_values(found, lambda member: member["full_name"])


@pytest.fixture
def cell_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets the reads up for a cell of `count` members and three held meetings each listing them all; returns the
    members."""

    def given(count: int) -> dict[str, dict[str, Any]]:
        listed = members(count)
        held = [
            {
                "meeting_id": f"m-{month}",
                "status": "minutes_approved",
                "starts_at": f"{YEAR}-{month:02d}-05T19:00:00+07:00",
            }
            for month in (1, 2, 3)
        ]
        statuses = ("present", "excused", "absent")
        full = {
            meeting["meeting_id"]: meeting
            | {
                "attendance": {
                    "records": [
                        {"member_id": member_id, "status": statuses[index % 3]}
                        for index, member_id in enumerate(listed)
                    ]
                },
                "minutes": {"speakers": list(listed)[::2]},
                "tasks": [],
            }
            for meeting in held
        }

        async def list_cell_ratings(*_: Any, **__: Any) -> dict[str, Any]:
            return {"items": [], "total": 0, "limit": 200, "offset": 0}

        async def list_cell_meetings(*_: Any, **__: Any) -> dict[str, Any]:
            return {"items": held, "total": len(held), "limit": 200, "offset": 0}

        async def get_meeting(meeting_id: str, *_: Any) -> dict[str, Any]:
            return full[meeting_id]

        async def members_by_id(*_: Any, **__: Any) -> dict[str, dict[str, Any]]:
            return OrderedDict(listed)

        monkeypatch.setattr(reads, "list_cell_ratings", list_cell_ratings)
        monkeypatch.setattr(reads, "list_cell_meetings", list_cell_meetings)
        monkeypatch.setattr(reads, "get_meeting", get_meeting)
        monkeypatch.setattr(data, "members_by_id", members_by_id)
        return listed

    return given


def counting(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> dict[str, int]:
    """Counts the calls of `module.name` from now on."""
    calls = {"count": 0}
    original = getattr(module, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls["count"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("count", [300, 600])
async def test_the_evidence_orders_its_members_once_as_they_come(
    cell_of: Any, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    listed = cell_of(count)
    keys = counting(monkeypatch, collation, "person_key")
    secretary = Principal(sub="bi-thu", role=Role.SECRETARY, unit_id="chi-bo", person_id=None, local=True)
    found = await evidence_module.evidence(SimpleNamespace(), secretary, "chi-bo", YEAR)
    assert [person["member_id"] for person in found["people"]] == list(listed)
    assert [person["expected"] for person in found["people"][:3]] == [3, 3, 3]
    # members_by_id ordered them by name (pyuca keys of ~0.2 ms each); the evidence keeps that order
    assert keys["count"] == 0


@pytest.mark.parametrize("count", [300, 600])
def test_the_evidence_csv_works_out_the_years_columns_once(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    statuses = counting(monkeypatch, evidence_module, "period_status")
    people = [{"member_id": member_id, "name": member["full_name"]} for member_id, member in members(count).items()]
    table = evidence_module.evidence_csv(people, year=YEAR).decode("utf-8-sig").splitlines()
    assert len(table) == count + 1 and table[1].endswith(";Năm 2025;đã kết thúc")
    assert statuses["count"] == 1
