"""An upgrade fault: minutes stored before migration 0026 had no content key, so on an upgraded system the adopted
minutes re-sent unchanged by a feed with a later `time` (the handbook's periodic resend) voided the adoption (a key
compared with NULL). The start's backfill (services/evaluation/content_keys.py) gives them theirs from the stored data.

Over a private evaluation database, the real repository and scoring; the pre-migration state is made by deleting the
key rows after storing."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.evaluation import content_keys
from services.evaluation.bootstrap import prepare
from shared.minutes import BACKFILL_PAGE, minutes_content_key
from tests.evaluation.private_db import private_pool
from tests.evaluation.stream import at, fact, ward_with_cell
from tests.evaluation.test_adoption_voided import ADOPTED, START, adoption, item, with_task
from tests.evaluation.test_cell_existence import Clock, apply, held


@pytest.mark.parametrize("changed", [False, True])
async def test_minutes_stored_before_their_keys_keep_the_adoption_over_the_same_text_resent(
    database_url: str, changed: bool
) -> None:
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-u", "mtg-upgraded"
        meeting = with_task(held(cell, mtg, START), cell)
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + meeting + [adoption(mtg, time=ADOPTED)])
        adopted = (await item(pool, mtg))["points"]
        assert adopted > 0
        async with pool.acquire() as conn:  # as stored before migrations 0026 and 0027
            await conn.execute("DELETE FROM minutes_content; DELETE FROM roster_content")
        first = await content_keys.backfill(pool)
        assert first == {"read": 1, "added": 1, "unreadable": 0}
        async with pool.acquire() as conn:
            keys = await conn.fetch("SELECT * FROM minutes_content ORDER BY meeting_id")
        assert await content_keys.backfill(pool) == {"read": 0, "added": 0, "unreadable": 0}
        async with pool.acquire() as conn:
            assert await conn.fetch("SELECT * FROM minutes_content ORDER BY meeting_id") == keys
        [original] = [event["data"] for event in meeting if event["type"] == "minutes.submitted.v1"]
        data = dict(original)
        for name in ("started_at", "ended_at"):
            data[name] = datetime.fromisoformat(data[name]).astimezone(UTC).isoformat()
        if changed:
            data["conclusions"] = "Kết luận khác, không ai thông qua"
        await apply(factory, [fact("minutes.submitted.v1", data, time=START + timedelta(hours=14))])
        points = (await item(pool, mtg))["points"]
        assert points == 0 if changed else points == adopted


async def test_minutes_stored_in_part_are_not_read_again_at_every_start(database_url: str) -> None:
    """Minutes evaluation stored before it read them in full (no chair, recorder, texts) give no key meetings' equals:
    the backfill leaves them in SQL instead of reading and refusing each one at every start."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-p", "mtg-in-part"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + held(cell, mtg, START))
        async with pool.acquire() as conn:  # as a service reading the minutes in part stored them
            await conn.execute(
                "DELETE FROM minutes_content; UPDATE minutes SET data = data - 'chair_id' - 'recorder_id'"
            )
        assert await content_keys.backfill(pool) == {"read": 0, "added": 0, "unreadable": 0}


async def test_a_key_kept_from_part_of_minutes_stored_in_full_is_computed_again_once(database_url: str) -> None:
    """While evaluation read minutes in part it keyed them on part of the text (no chair, recorder, texts), unlike
    meetings: the adopted minutes re-sent unchanged later then had another key and voided the adoption here alone.
    The start's backfill computes again, once, the key of minutes held in full (migration 0028) and corrects it."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-r", "mtg-rekeyed"
        meeting = with_task(held(cell, mtg, START), cell)
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + meeting + [adoption(mtg, time=ADOPTED)])
        adopted = (await item(pool, mtg))["points"]
        assert adopted > 0
        [original] = [event["data"] for event in meeting if event["type"] == "minutes.submitted.v1"]
        part = {name: value for name, value in original.items() if name not in ("chair_id", "recorder_id")}
        async with pool.acquire() as conn:  # as the code reading minutes in part kept it, before migration 0028
            full = await conn.fetchval("SELECT content_key FROM minutes_content WHERE meeting_id = $1", mtg)
            partial = minutes_content_key(part)
            assert partial != full  # the chair and recorder are part of the text
            await conn.execute("UPDATE minutes_content SET content_key = $1, rechecked = false", partial)
        assert await content_keys.backfill(pool) == {"read": 0, "added": 0, "unreadable": 0}
        async with pool.acquire() as conn:
            keys = await conn.fetch("SELECT content_key, rechecked FROM minutes_content WHERE meeting_id = $1", mtg)
            noted = await conn.fetchval("SELECT count(*) FROM dirty_cell WHERE $1 = ANY(only_meetings)", mtg)
        assert [(row["content_key"], row["rechecked"]) for row in keys] == [(full, True)]
        assert noted == 1  # scored again: its adoption may stand or fall
        assert await content_keys.recheck(pool) == {"read": 0, "corrected": 0, "unreadable": 0}
        data = dict(original)
        for name in ("started_at", "ended_at"):
            data[name] = datetime.fromisoformat(data[name]).astimezone(UTC).isoformat()
        await apply(factory, [fact("minutes.submitted.v1", data, time=START + timedelta(hours=14))])
        assert (await item(pool, mtg))["points"] == adopted


async def test_minutes_held_in_full_found_unreadable_are_read_at_one_start_only(database_url: str) -> None:
    """Minutes held in full that their contract no longer accepts (stored under an older one) get no key: the start's
    backfill read and refused them again at every start, one warning each time. It notes them (migration 0029), as
    meetings does: the next start reads none of them."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-x", "mtg-unreadable"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + held(cell, mtg, START))
        async with pool.acquire() as conn:  # stored before migration 0026, under a contract that let a chair be so
            await conn.execute("DELETE FROM minutes_content")
            await conn.execute("UPDATE minutes SET data = jsonb_set(data, '{chair_id}', '\"không hợp lệ\"')")
        assert await content_keys.backfill(pool) == {"read": 1, "added": 0, "unreadable": 1}
        async with pool.acquire() as conn:
            noted = await conn.fetch("SELECT content_table, meeting_id FROM content_key_unreadable")
        assert [tuple(row) for row in noted] == [("minutes_content", mtg)]
        assert await content_keys.backfill(pool) == {"read": 0, "added": 0, "unreadable": 0}


async def stored_copies(pool: asyncpg.Pool, meeting_id: str, copies: int) -> None:
    """`copies` more meetings as `meeting_id` stored (meeting, minutes), each with a key kept before migration 0028
    (unchecked) and an older version's key, as a large upgraded table holds them (each stored from an event of its
    own, at a time of its own); the tables analysed."""
    async with pool.acquire() as conn:
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'meeting' ORDER BY ordinal_position"
        )
        names = [row["column_name"] for row in columns]
        copied = ", ".join("$1 || '-' || g" if name == "meeting_id" else name for name in names)
        await conn.execute(
            f"INSERT INTO meeting ({', '.join(names)}) SELECT {copied} FROM meeting, generate_series(1, $2) g"
            " WHERE meeting_id = $1",
            meeting_id,
            copies,
        )
        await conn.execute(
            "INSERT INTO minutes (meeting_id, data, fact_time, fact_ns, fact_id) SELECT $1 || '-' || g,"
            " jsonb_set(data, '{meeting_id}', to_jsonb($1 || '-' || g)), fact_time - g * interval '1 s', fact_ns,"
            " fact_id || '-' || g"
            " FROM minutes, generate_series(1, $2) g WHERE meeting_id = $1",
            meeting_id,
            copies,
        )
        await conn.execute(
            "INSERT INTO minutes_content (meeting_id, version_time, version_ns, version_id, content_key, rechecked)"
            " SELECT s.meeting_id, s.fact_time - o.back, s.fact_ns, s.fact_id, 'kept-before', false FROM minutes s,"
            " (VALUES (interval '0'), (interval '1 day')) o(back) WHERE s.meeting_id LIKE $1 || '-%'",
            meeting_id,
        )
        await conn.execute("ANALYZE meeting; ANALYZE minutes; ANALYZE minutes_content")


def rows_read(plan: dict[str, Any], relation: str) -> int:
    """How many rows the nodes of an EXPLAIN (ANALYZE, FORMAT JSON) plan reading `relation` gave, over their loops."""
    own = plan["Actual Rows"] * plan["Actual Loops"] if plan.get("Relation Name") == relation else 0
    return own + sum(rows_read(child, relation) for child in plan.get("Plans", []))


async def test_a_recheck_page_reads_a_page_of_kept_keys_not_every_one(database_url: str) -> None:
    """The recheck's page joined minutes to their kept keys: PostgreSQL, misjudging the four-column match as one row,
    hashed every unchecked key for each page, so the first start after migration 0028 took minutes over 200,000
    minutes (0.7 s a page, growing with the square of the table). A page reads the keys of its minutes only; the keys
    it cannot compute again (older versions) are marked checked too, in pages."""
    async with private_pool(database_url) as pool:
        factory = await prepare(pool, today=Clock(date(2026, 11, 20)))
        cell, mtg = "cell-l", "mtg-large"
        await apply(factory, ward_with_cell(cell, time=at(1, 1)) + with_task(held(cell, mtg, START), cell))
        await stored_copies(pool, mtg, 10000)
        async with pool.acquire() as conn:
            [[explained]] = await conn.fetch(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + content_keys.RECHECK_PAGE_SQL, "", BACKFILL_PAGE
            )
        read = rows_read(json.loads(explained)[0]["Plan"], "minutes_content")
        assert read <= 2 * BACKFILL_PAGE, read  # a page's keys (and a few past it), not the table's 20,000
        counts = await content_keys.recheck(pool, page_size=200)
        assert counts == {"read": 10000, "corrected": 10000, "unreadable": 0}
        async with pool.acquire() as conn:
            assert not await conn.fetchval("SELECT count(*) FROM minutes_content WHERE NOT rechecked")
