"""Issue 12: meetings writes its jsonb parameters with pydantic_core's to_json, not json.dumps; jsonb keeps no
spacing, escapes or key order, so the stored values are those json.dumps gave."""

import json
from typing import Any

import asyncpg

from services.meetings.repository.pending import jsonb


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
