"""Keyset paging, the one mechanism of every list read by cursor: a page holds the rows whose sort key is above the
last one the page before listed, so a row inserted or removed meanwhile neither moves nor repeats another, and a page
costs the same however far into the list (OFFSET reads and drops every row before it).

A key is the page's last row's ordering columns written as text (`after`, `next_after` of the RPC catalogs); the SQL
casts each back to its column's type, so one JSON-safe shape serves every list."""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import Field

from shared.rpc import RpcError

After = Annotated[list[Annotated[str, Field(max_length=300)]], Field(min_length=1, max_length=4)]
"""The sort key of the last row a page listed, each column as text (keyset.text_of)."""


def text_of(value: Any) -> str:
    """`value` of an ordering column as a key's text: ISO 8601 for a date or moment (microseconds kept), else str."""
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def _moment(text: str) -> None:
    if datetime.fromisoformat(text).tzinfo is None:
        raise ValueError("a moment without an offset")


def _bigint(text: str) -> None:
    if not re.fullmatch(r"-?[0-9]{1,19}", text) or not -(2**63) <= int(text) < 2**63:
        raise ValueError("not a whole number")


_READERS: dict[str, Callable[[str], object]] = {
    "timestamptz": _moment,
    "date": date.fromisoformat,
    "bigint": _bigint,
    "uuid": uuid.UUID,
    "text": str,
}
"""How each column type's key text is checked before PostgreSQL casts it (a bad one would be a database error)."""


@dataclass(frozen=True)
class Column:
    """One ordering column: its SQL expression, its PostgreSQL type, its field in a row read, and its direction."""

    expression: str
    kind: str
    field: str
    descending: bool = False


@dataclass(frozen=True)
class Keyset:
    """A list's total order: `columns` in turn, the last one unique (an id), so every row has one place."""

    columns: tuple[Column, ...]

    @property
    def order_by(self) -> str:
        """The ORDER BY list of the order (`m.starts_at, m.meeting_id`)."""
        return ", ".join(f"{c.expression}{' DESC' if c.descending else ''}" for c in self.columns)

    def after(self, key: list[str] | None, *, first: int) -> tuple[str, list[str]]:
        """The SQL condition of the rows after `key` in the order (its parameters numbered from `first`) and those
        parameters; `TRUE` and none for the first page (`key` None); RpcError invalid naming `after` for a key of
        another length or a value its column's type cannot read."""
        if key is None:
            return "TRUE", []
        if len(key) != len(self.columns):
            raise RpcError("invalid", f"after: a key of {len(self.columns)} values, not {len(key)}", field="after")
        for column, text in zip(self.columns, key, strict=True):
            try:
                _READERS[column.kind](text)
            except ValueError:
                raise RpcError("invalid", f"after: {text[:40]!r} is not a {column.kind} value", field="after") from None
        said = [f"${first + i}::text::{c.kind}" for i, c in enumerate(self.columns)]
        ties: list[str] = []
        either: list[str] = []
        for column, value in zip(self.columns, said, strict=True):
            beyond = f"{column.expression} {'<' if column.descending else '>'} {value}"
            either.append("(" + " AND ".join([*ties, beyond]) + ")")
            ties.append(f"{column.expression} = {value}")
        return "(" + " OR ".join(either) + ")", list(key)

    def next_after(self, rows: list[Any], *, limit: int) -> list[str] | None:
        """The key of a full page's last row (the following page starts after it), None after a short (last) page."""
        if len(rows) < limit or not rows:
            return None
        return [text_of(rows[-1][c.field]) for c in self.columns]
