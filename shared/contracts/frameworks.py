"""Criteria frameworks as contract data: which item codes an assessment may score, and up to what.

The documents (`framework_data/*.json`) are the evaluation service's shipped frameworks. Evaluation owns every
framework and where it is in force; each adoption (a shipped framework registered, or one adopted at run time for
the whole province or a committee's subtree) is published on `chibo.events` as `framework.adopted.v1`, an
**internal** type (not part of CONTRACT.md's public surface: external systems neither send nor need it). Meetings
keeps the item tables of those adoptions (plus the shipped ones, known before evaluation has spoken) and judges
`meeting.assessed.v1` with them (CONTRACT.md: points use only the item codes of the framework in force, each from
0 to that item's maximum), so neither service imports the other.
"""

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Protocol, TypeVar

from pydantic import Field, field_validator

from shared.contracts.base import Day, EventData, Identifier, Whole
from shared.contracts.meetings import NOT_IN_FRAMEWORK, MeetingKind
from shared.envelope import InvalidEvent
from shared.refusals import Refusal, RefusalCode

FRAMEWORKS_DIR = Path(__file__).parent / "framework_data"
FRAMEWORK_ADOPTED = "framework.adopted.v1"


class FrameworkItem(EventData):
    """One scored item of a framework: its code, maximum points, and whether people assess it by hand."""

    code: Annotated[str, Field(pattern=r"^[a-z_]+(\.[a-z_]+)*$")]
    max: Annotated[float, Field(gt=0)]
    manual: bool
    applies_to: list[MeetingKind] | None = None
    """The meeting kinds the item applies to (DOMAIN.md: `conduct.thematic_content` only for thematic and combined
    meetings); None (an adoption published before this field): not said, read as the shipped framework says."""

    @field_validator("max")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class FrameworkAdopted(EventData):
    """framework.adopted.v1 (internal, published by evaluation): a framework put in force from a date, by default
    (`committee_id` null) or for a committee's subtree; `sequence` orders adoptions of the same date (later wins)."""

    framework_id: Identifier
    version: Annotated[str, Field(min_length=1, max_length=32)]
    committee_id: Identifier | None = None
    effective_from: Day
    sequence: Annotated[Whole, Field(ge=0)]
    items: Annotated[list[FrameworkItem], Field(min_length=1)]


TYPES: dict[str, type[EventData]] = {FRAMEWORK_ADOPTED: FrameworkAdopted}
"""Internal types evaluation publishes about frameworks (read by meetings)."""


@dataclass(frozen=True)
class ItemTable:
    """One adopted framework's items assessed by hand (code -> maximum points), where and from when it is in force."""

    framework_id: str
    version: str
    effective_from: date
    manual_maxima: dict[str, float]
    committee_id: str | None = None
    """None: in force by default; else for that committee's subtree."""
    sequence: int = 0
    """Adoption order: of two adoptions with the same date, the later one is in force."""
    manual_kinds: dict[str, frozenset[str]] | None = None
    """Item code -> the meeting kinds it applies to, for the items that do not apply to every kind; None: not known
    (an adoption published without `applies_to`, read as the shipped table of the same key says: merged_tables)."""

    @property
    def key(self) -> tuple[str, str, str, date]:
        """What identifies an adoption: (committee or '', framework id, version, effective date)."""
        return (self.committee_id or "", self.framework_id, self.version, self.effective_from)


ALL_KINDS = frozenset(kind.value for kind in MeetingKind)


def kinds_of(items: Sequence[tuple[str, bool, Sequence[str] | None]]) -> dict[str, frozenset[str]] | None:
    """The manual items' kinds (code -> kinds, for those not applying to every kind) of (code, manual, applies_to)
    lines; None when no line says its kinds (an adoption published before `applies_to`)."""
    if all(kinds is None for _code, _manual, kinds in items):
        return None
    found = {code: frozenset(str(kind) for kind in kinds or ALL_KINDS) for code, manual, kinds in items if manual}
    return {code: kinds for code, kinds in found.items() if kinds != ALL_KINDS}


def table_of(adopted: FrameworkAdopted) -> ItemTable:
    """The item table of an adoption event."""
    return ItemTable(
        framework_id=adopted.framework_id,
        version=adopted.version,
        effective_from=adopted.effective_from,
        manual_maxima={item.code: item.max for item in adopted.items if item.manual},
        committee_id=adopted.committee_id,
        sequence=adopted.sequence,
        manual_kinds=kinds_of([(item.code, item.manual, item.applies_to) for item in adopted.items]),
    )


@cache
def shipped_item_tables() -> tuple[ItemTable, ...]:
    """The shipped frameworks' manual item tables, in force by default, in file order (negative sequences, so any
    published adoption of the same date wins, and shipped ties break as evaluation registers them)."""
    paths = sorted(FRAMEWORKS_DIR.glob("*.json"))
    tables = []
    for index, path in enumerate(paths):
        document = json.loads(path.read_text(encoding="utf-8"))
        items = [item for group in document["groups"] for item in group["items"]]
        maxima = {str(item["code"]): float(item["max"]) for item in items if item["rule"]["kind"] == "manual"}
        lines = [
            (str(item["code"]), item["rule"]["kind"] == "manual", item.get("applies_to") or sorted(ALL_KINDS))
            for item in items
        ]
        tables.append(
            ItemTable(
                framework_id=document["id"],
                version=str(document["version"]),
                effective_from=date.fromisoformat(document["effective_from"]),
                manual_maxima=maxima,
                sequence=index - len(paths),
                manual_kinds=kinds_of(lines),
            )
        )
    return tuple(tables)


def default_manual_maxima() -> dict[str, float]:
    """The default framework's items assessed by hand (code -> maximum points): the newest shipped one (DOMAIN.md)."""
    newest = max(shipped_item_tables(), key=lambda table: (table.effective_from, table.sequence))
    return dict(newest.manual_maxima)


class Adoption(Protocol):
    """What choosing the framework in force needs of an adoption."""

    @property
    def committee_id(self) -> str | None: ...
    @property
    def effective_from(self) -> date: ...
    @property
    def sequence(self) -> int: ...


AdoptionT = TypeVar("AdoptionT", bound=Adoption)


def in_force(on: date, *, ancestors: Sequence[str], adoptions: Sequence[AdoptionT]) -> AdoptionT | None:
    """The adoption in force on a date for a cell: the nearest committee's (`ancestors` nearest first), else the
    default one by date; before any default's date the earliest default, so even very old meetings have one."""
    for committee in ancestors:
        chosen = _latest([adoption for adoption in adoptions if adoption.committee_id == committee], on)
        if chosen:
            return chosen
    defaults = [adoption for adoption in adoptions if adoption.committee_id is None]
    chosen = _latest(defaults, on)
    if chosen is None and defaults:
        chosen = min(defaults, key=lambda a: (a.effective_from, -a.sequence))
    return chosen


def _latest(candidates: list[AdoptionT], on: date) -> AdoptionT | None:
    """The candidate started by `on` with the latest date, then sequence (a module function: a nested one evaluated
    its annotations, `AdoptionT | None` through typing's cache, at every call of in_force)."""
    started = [adoption for adoption in candidates if adoption.effective_from <= on]
    return max(started, key=_date_and_sequence) if started else None


def _date_and_sequence(adoption: Adoption) -> tuple[date, int]:
    return adoption.effective_from, adoption.sequence


def merged_tables(projected: Sequence[ItemTable]) -> list[ItemTable]:
    """The shipped tables overlaid with the projected adoptions (a projected one replaces a shipped one of the
    same key, taking evaluation's real sequence)."""
    tables = {table.key: table for table in shipped_item_tables()}
    for table in projected:
        shipped = tables.get(table.key)
        if table.manual_kinds is None and shipped is not None:  # published before `applies_to`: the file says
            table = replace(table, manual_kinds=shipped.manual_kinds)
        tables[table.key] = table
    return list(tables.values())


def check_points(points: dict[str, float], *, table: ItemTable, kind: str | None = None) -> None:
    """InvalidEvent naming `data.points.<code>` for a code not assessed by hand in `table` (the framework in force
    for the meeting), points above that item's maximum (CONTRACT.md "Reading an event"), or, given the meeting's
    `kind`, points for an item that does not apply to that kind (DOMAIN.md's framework: `conduct.thematic_content`
    only for thematic and combined meetings, `conduct.regular_content` not for a standalone thematic one), coded
    ITEM_NOT_APPLICABLE: such points would count for nothing, unsaid."""
    for code, given in points.items():
        field = f"data.points.{code}"
        maximum = table.manual_maxima.get(code)
        if maximum is None:
            known = ", ".join(sorted(table.manual_maxima))
            raise InvalidEvent(
                f"{field}: {NOT_IN_FRAMEWORK} assessed by hand (framework {table.framework_id}"
                f" version {table.version}; known: {known})",
                field=field,
            )
        if given > maximum:
            raise InvalidEvent(f"{field}: {given:g} is above the item's maximum of {maximum:g}", field=field)
        kinds = (table.manual_kinds or {}).get(code, ALL_KINDS)
        if kind is not None and kind not in kinds:
            raise InvalidEvent(
                f"{field}: item {code} of framework {table.framework_id} version {table.version} applies only to"
                f" {', '.join(sorted(kinds))} meetings, not to this {kind} one",
                field=field,
                refusal=Refusal(code=RefusalCode.ITEM_NOT_APPLICABLE),
            )
