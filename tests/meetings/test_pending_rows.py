"""Issue 12: a transaction's queued upserts and updates go as one multi-row statement when no key occurs twice, and
one execution per row, in order, when one does (ON CONFLICT DO UPDATE may not meet a row twice in one statement)."""

import json
from typing import Any

import asyncpg

from services.meetings.repository.pending import PendingWrites, jsonb


class RecordingConnection:
    """What PendingWrites sends, as (method, sql, arguments)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    async def execute(self, sql: str, *args: Any) -> None:
        self.sent.append(("execute", sql, args))

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.sent.append(("executemany", sql, rows))


async def test_rows_of_distinct_keys_go_as_one_multi_row_statement() -> None:
    connection = RecordingConnection()
    pending = PendingWrites(connection)  # type: ignore[arg-type]
    pending.add("UPSERT one", ("m-1", 1), once=("UPSERT rows", "m-1"))
    pending.add("UPSERT one", ("m-2", 2), once=("UPSERT rows", "m-2"))
    pending.add("UPDATE one", ("m-1", "x"), rank=2, once=("UPDATE rows", "m-1"))

    await pending.flush()

    assert connection.sent == [
        ("execute", "UPSERT rows", (["m-1", "m-2"], [1, 2])),
        ("execute", "UPDATE rows", (["m-1"], ["x"])),
    ]


async def test_rows_meeting_a_key_twice_go_one_execution_each_in_order() -> None:
    connection = RecordingConnection()
    pending = PendingWrites(connection)  # type: ignore[arg-type]
    for row in [("m-1", 1), ("m-2", 2), ("m-1", 3)]:
        pending.add("UPSERT one", row, once=("UPSERT rows", row[0]))

    await pending.flush()
    pending.add("UPSERT one", ("m-1", 4), once=("UPSERT rows", "m-1"))  # the next flush starts afresh
    await pending.flush()

    assert connection.sent == [
        ("executemany", "UPSERT one", [("m-1", 1), ("m-2", 2), ("m-1", 3)]),
        ("execute", "UPSERT rows", (["m-1"], [4])),
    ]


async def test_jsonb_text_stores_the_value_json_dumps_stored(meetings_pool: asyncpg.Pool) -> None:
    values: list[Any] = [
        {"title": "Hội trường chi bộ", "items": [1, 2.5, None, True, "ấp 3"], "nested": {"n": 1e16, "z": -0.0}},
        ["a", "b"],
        {},
        [],
        {"emoji": "\U0001f389", "quote": 'say "yes"\n'},
    ]
    async with meetings_pool.acquire() as conn:
        for value in values:
            same = await conn.fetchval(
                "SELECT $1::jsonb = $2::jsonb AND $1::jsonb = $3::jsonb",
                jsonb(value),
                json.dumps(value),
                json.dumps(value, ensure_ascii=False),
            )
            assert same is True, value
