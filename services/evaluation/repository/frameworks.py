"""Framework documents and their adoptions."""

import json
from datetime import date
from typing import Any, Protocol

import asyncpg

from services.evaluation.domain.framework import Adoption


class FrameworkRepository(Protocol):
    """Stored frameworks and where they are in force."""

    async def document(self, framework_id: str, version: str) -> dict[str, Any] | None: ...
    async def store(self, *, framework_id: str, version: str, document: dict[str, Any]) -> None: ...
    async def adopt(
        self, *, committee_id: str | None, framework_id: str, version: str, effective_from: date
    ) -> int | None: ...
    async def adoptions(self) -> list[Adoption]: ...


class PgFrameworkRepository:
    """FrameworkRepository on the evaluation schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection
        # Read once per unit of work: a fact rescores a meeting and refreshes its periods with the same list.
        self._adoptions: list[Adoption] | None = None

    async def document(self, framework_id: str, version: str) -> dict[str, Any] | None:
        """A stored framework document."""
        raw = await self._conn.fetchval(
            "SELECT document::text FROM framework WHERE framework_id = $1 AND version = $2", framework_id, version
        )
        return json.loads(raw) if raw else None

    async def store(self, *, framework_id: str, version: str, document: dict[str, Any]) -> None:
        """Store a document under (id, version) if not stored yet."""
        await self._conn.execute(
            "INSERT INTO framework (framework_id, version, document) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING",
            framework_id,
            version,
            json.dumps(document, ensure_ascii=False),
        )

    async def adopt(
        self, *, committee_id: str | None, framework_id: str, version: str, effective_from: date
    ) -> int | None:
        """Put a framework in force (for a committee's subtree, or by default) from a date; the new adoption's
        sequence, or None when that very adoption was already made."""
        sequence: int | None = await self._conn.fetchval(
            "INSERT INTO framework_adoption (committee_id, framework_id, version, effective_from)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING sequence",
            committee_id,
            framework_id,
            version,
            effective_from,
        )
        self._adoptions = None
        return sequence

    async def adoptions(self) -> list[Adoption]:
        """Every adoption, in adoption order."""
        if self._adoptions is None:
            rows = await self._conn.fetch(
                "SELECT sequence, committee_id, framework_id, version, effective_from FROM framework_adoption"
                " ORDER BY sequence"
            )
            self._adoptions = [Adoption(**dict(row)) for row in rows]
        return list(self._adoptions)
