"""`uv run python -m shared.ops rejections list` says every field GET /v1/rejections answers for a rejection, with the
same values, its attempts' too (an operator's trial: the command line left out who sent each rejection, `sender`,
which the API gave as `t63-feed`, and `replay_outcome`, `last_replay_field` and `last_replay_reason_code`). Both are
built by shared.rejection_fields; the API's side is read as the gateway reads it (meetings' list_rejections reply,
then rejection_page), the command line's as an operator runs it."""

import asyncio
import json
import re
from datetime import datetime
from typing import Any

import asyncpg
from pydantic_core import to_json

from services.gateway.schemas.operations import rejection_page
from services.meetings import queries
from shared.contracts.meetings_rpc import RejectionsPage
from shared.db import apply_migrations, migration_files
from tests.support.ids import random_id
from tests.support.ops import ROOT, ops

TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9]{2}:[0-9]{2})$")


def same_values(value: Any) -> Any:
    """A JSON value with each RFC 3339 time read as an aware datetime, so one instant written two ways compares
    equal."""
    if isinstance(value, dict):
        return {key: same_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [same_values(item) for item in value]
    if isinstance(value, str) and TIME.match(value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


async def test_the_command_line_lists_every_field_the_api_answers_for_a_rejection(
    amqp_url: str, database_url: str
) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    await apply_migrations(database_url, schema="meetings", files=migration_files(ROOT / "services" / "meetings"))
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "meetings"})
    rejected = random_id("rej")
    try:
        await conn.execute(
            "INSERT INTO rejection (rejection_id, source, event_id, type, reason, field, refusal, raw, route,"
            " received_at, status, last_replay_reason, last_replay_field, last_replay_refusal, last_replay_at,"
            " replay_outcome, message_id, sender, scope)"
            " VALUES ($1, 'urn:test:t63', $1, 'member.upserted.v1', 'unknown cell', 'data.cell_id',"
            " '{\"code\": \"unit_unknown\"}'::jsonb, '{}', 'amqp', now() - interval '2 hours', 'replayed',"
            " 'still unknown', 'data.status', '{\"code\": \"value_unknown\"}'::jsonb, now() - interval '1 hour',"
            " 'accepted', 'msg-t63', 't63-feed', 'unit:x')",
            rejected,
        )
        await conn.execute(
            "INSERT INTO rejection_attempt (rejection_id, attempt, route, type, reason, field, refusal, raw,"
            " message_id, received_at, sender) VALUES"
            " ($1, 1, 'amqp', 'member.upserted.v1', 'unknown cell', 'data.cell_id', '{\"code\": \"unit_unknown\"}',"
            " '{}', 'msg-t63', now() - interval '2 hours', 't63-feed'),"
            " ($1, 2, 'replay', 'member.upserted.v1', 'still unknown', 'data.status', '{\"code\": \"value_unknown\"}',"
            " '{}', NULL, now() - interval '1 hour', 'cli:operator')",
            rejected,
        )
        reply = await queries.list_rejections(conn, limit=1000, offset=0, type=None, status="replayed")
        page = rejection_page(RejectionsPage.model_validate(reply))
        [from_api] = json.loads(to_json([i for i in page["items"] if i["rejection_id"] == rejected]))  # as answered
        listed = await asyncio.to_thread(
            ops, amqp_url, database_url, "rejections", "list", "--status", "replayed", "--limit", "1000"
        )
        [from_cli] = [i for i in listed["items"] if i["rejection_id"] == rejected]
    finally:
        await conn.execute("DELETE FROM rejection WHERE rejection_id = $1", rejected)
        await conn.close()

    assert (from_api["sender"], from_api["replay_outcome"], from_api["last_replay_field"]) == (
        "t63-feed",
        "accepted",
        "data.status",
    )
    assert from_api["last_replay_reason_code"] == "value_unknown" and from_api["reason_code"] == "unit_unknown"
    missing = sorted(set(from_api) - set(from_cli))
    assert not missing, f"the command line leaves out {missing}"
    for number, attempt in enumerate(from_api["attempts"]):
        left_out = sorted(set(attempt) - set(from_cli["attempts"][number]))
        assert not left_out, f"attempt {attempt['attempt']}: the command line leaves out {left_out}"
    shown = same_values({key: from_cli[key] for key in from_api})
    assert shown == same_values(from_api)
    # the same text too, not only the same instant: the command line wrote `+00:00` where the API writes `Z`
    assert times_of(from_cli, from_api) == times_of(from_api, from_api)
    assert times_of(from_api, from_api), "the rejection has times to compare"


def times_of(value: Any, shape: Any) -> list[str]:
    """The RFC 3339 texts of `value` at the places where `shape` (the API's answer) has a time, in order."""
    if isinstance(shape, dict):
        return [text for key, item in shape.items() for text in times_of(value.get(key), item)]
    if isinstance(shape, list):
        return [text for number, item in enumerate(shape) for text in times_of(value[number], item)]
    return [value] if isinstance(shape, str) and TIME.match(shape) else []
