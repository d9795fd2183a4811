"""A trial's `time` with twelve fraction digits (`2026-11-01T08:00:00.123456789012+07:00`) was refused "must be RFC
3339 with seconds and an offset" on both routes, though RFC 3339 allows any number (`time-secfrac = "." 1*DIGIT`):
read on both routes, in both modes, to the nanosecond (the rest dropped)."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from tests.partners.scenario import Scenario
from tests.partners.test_binary_mode import member_event, org_of, post
from tests.partners.wire import publish
from tests.support.events import TWELVE_DIGITS_TIME as TWELVE
from tests.support.running import eventually
from tests.support.system import RunningSystem


def binary_headers(event: dict[str, Any]) -> dict[str, str]:
    """The event's attributes as `ce-` headers (its time as sent, digits and all)."""
    return {f"ce-{name}": str(value) for name, value in event.items() if name not in ("data", "datacontenttype")}


async def test_a_time_with_twelve_fraction_digits_is_read_on_both_routes_in_both_modes(
    system: RunningSystem, gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection
) -> None:
    scenario = Scenario()
    await org_of(gateway, scenario)
    sent = [
        {**member_event(scenario, f"mem-frac-{mode}-{uuid.uuid4().hex[:8]}"), "time": TWELVE}
        for mode in ("http-structured", "http-binary", "amqp-structured", "amqp-binary")
    ]
    http_structured, http_binary, amqp_structured, amqp_binary = sent
    structured = await post(
        gateway, {"Content-Type": CLOUDEVENT_CONTENT_TYPE}, json.dumps(http_structured, ensure_ascii=False).encode()
    )
    assert structured["outcome"] == "accepted", structured
    binary = await post(
        gateway,
        {**binary_headers(http_binary), "Content-Type": "application/json"},
        json.dumps(http_binary["data"], ensure_ascii=False).encode(),
    )
    assert binary["outcome"] == "accepted", binary
    amqp_url = system.env["CHIBO_AMQP_URL"]
    await publish(
        amqp_url,
        json.dumps(amqp_structured, ensure_ascii=False).encode(),
        routing_key=amqp_structured["type"],
        content_type=CLOUDEVENT_CONTENT_TYPE,
    )
    await publish(
        amqp_url,
        json.dumps(amqp_binary["data"], ensure_ascii=False).encode(),
        routing_key=amqp_binary["type"],
        content_type="application/json",
        headers=binary_headers(amqp_binary),
    )
    ids = [event["data"]["id"] for event in sent]

    async def stored() -> list[asyncpg.Record] | None:
        rows = await meetings_db.fetch("SELECT id, version_time FROM member WHERE id = ANY($1::text[])", ids)
        return rows if len(rows) == 4 else None

    rows = await eventually(stored, timeout=90)
    assert {row["version_time"] for row in rows} == {datetime(2026, 11, 1, 1, 0, 0, 123456, tzinfo=UTC)}
