"""The shipped criteria frameworks as contract data: which item codes an assessment may score, and up to what.

The documents (`framework_data/*.json`) are the evaluation service's shipped frameworks; meetings reads their
item tables here to judge `meeting.assessed.v1` (CONTRACT.md: points use only the item codes of the framework
in force, each from 0 to that item's maximum), so neither service imports the other.
"""

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from shared.envelope import InvalidEvent

FRAMEWORKS_DIR = Path(__file__).parent / "framework_data"


@dataclass(frozen=True)
class ItemTable:
    """One shipped framework's items assessed by hand: code -> maximum points."""

    framework_id: str
    version: str
    effective_from: date
    manual_maxima: dict[str, float]


@cache
def shipped_item_tables() -> tuple[ItemTable, ...]:
    """The shipped frameworks' manual item tables, oldest first."""
    tables = []
    for path in sorted(FRAMEWORKS_DIR.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        maxima = {
            str(item["code"]): float(item["max"])
            for group in document["groups"]
            for item in group["items"]
            if item["rule"]["kind"] == "manual"
        }
        tables.append(
            ItemTable(
                framework_id=document["id"],
                version=str(document["version"]),
                effective_from=date.fromisoformat(document["effective_from"]),
                manual_maxima=maxima,
            )
        )
    return tuple(sorted(tables, key=lambda table: table.effective_from))


def table_in_force(on: date) -> ItemTable:
    """The shipped framework in force on a day: the latest effective on or before it, else the earliest."""
    tables = shipped_item_tables()
    earlier = [table for table in tables if table.effective_from <= on]
    return earlier[-1] if earlier else tables[0]


def check_points(points: dict[str, float], *, on: date) -> None:
    """InvalidEvent naming `data.points.<code>` for a code not assessed by hand in the framework in force on
    `on`, or points above that item's maximum (DOMAIN.md's framework; CONTRACT.md "Reading an event")."""
    table = table_in_force(on)
    for code, given in points.items():
        field = f"data.points.{code}"
        maximum = table.manual_maxima.get(code)
        if maximum is None:
            known = ", ".join(sorted(table.manual_maxima))
            raise InvalidEvent(
                f"{field}: not an item assessed by hand in framework {table.framework_id} (known: {known})",
                field=field,
            )
        if given > maximum:
            raise InvalidEvent(f"{field}: {given:g} is above the item's maximum of {maximum:g}", field=field)
