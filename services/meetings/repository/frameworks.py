"""The item tables of the frameworks evaluation adopted (projected from `framework.adopted.v1`)."""

import json
from typing import Protocol

import asyncpg

from shared.contracts.frameworks import FrameworkAdopted, ItemTable, kinds_of


class FrameworkRepository(Protocol):
    """Adopted frameworks' item tables."""

    async def record(self, adopted: FrameworkAdopted) -> bool: ...
    async def tables(self) -> list[ItemTable]: ...


class PgFrameworkRepository:
    """FrameworkRepository over the meetings schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        self._tables: list[ItemTable] | None = None
        """The tables as this transaction read them (every assessment of a batch reads them)."""

    async def record(self, adopted: FrameworkAdopted) -> bool:
        """Keep an adoption's items (the same adoption again only refreshes it); True when it was new."""
        manual = {item.code: item.max for item in adopted.items if item.manual}
        items = [item.model_dump(mode="json") for item in adopted.items]
        inserted: bool = await self._conn.fetchval(
            "INSERT INTO framework_items (committee_key, framework_id, version, effective_from, committee_id,"
            " sequence, manual_maxima, items) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)"
            " ON CONFLICT (committee_key, framework_id, version, effective_from) DO UPDATE"
            " SET sequence = EXCLUDED.sequence, manual_maxima = EXCLUDED.manual_maxima, items = EXCLUDED.items"
            " RETURNING xmax = 0",
            adopted.committee_id or "",
            adopted.framework_id,
            adopted.version,
            adopted.effective_from,
            adopted.committee_id,
            adopted.sequence,
            json.dumps(manual),
            json.dumps(items),
        )
        self._tables = None
        return inserted

    async def tables(self) -> list[ItemTable]:
        """Every projected adoption's table of items assessed by hand."""
        if self._tables is None:
            self._tables = await self._read_tables()
        return list(self._tables)

    async def _read_tables(self) -> list[ItemTable]:
        rows = await self._conn.fetch(
            "SELECT framework_id, version, effective_from, committee_id, sequence, manual_maxima::text AS maxima,"
            " items::text AS items FROM framework_items"
        )
        return [
            ItemTable(
                framework_id=row["framework_id"],
                version=row["version"],
                effective_from=row["effective_from"],
                manual_maxima={code: float(value) for code, value in json.loads(row["maxima"]).items()},
                committee_id=row["committee_id"],
                sequence=row["sequence"],
                manual_kinds=kinds_of(
                    [(item["code"], item["manual"], item.get("applies_to")) for item in json.loads(row["items"])]
                ),
            )
            for row in rows
        ]
