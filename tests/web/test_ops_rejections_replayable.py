"""`python -m shared.ops rejections list` says whether each rejection, and each of its attempts, can be replayed as
it was sent (`replayable_as_sent`, `not_replayable_reason`: `body_not_kept`, `body_reads_no_json`,
`refused_again_as_sent`), as GET /v1/rejections and the operations page do, and `--replayable` / `--not-replayable`
keep only those that can / cannot (an operator listed rejections on the command line, replayed one, and learned only
from exit 3 that it could never pass as sent). Through the real broker, meetings, gateway and command line."""

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.meetings.feed import feed
from tests.support.ops import ops, run_ops
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token

FEED = "urn:test:ops-replayable"


def binary_headers(event_id: str) -> dict[str, Any]:
    """A binary-mode member.upserted.v1's attribute headers (CONTRACT.md "Routes in") under `event_id`."""
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": FEED,
        "ce-type": "member.upserted.v1",
        "ce-time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
    }


def replay_fields(item: dict[str, Any]) -> tuple[Any, Any, list[tuple[Any, Any, Any]]]:
    """A listed rejection's replayability and each attempt's: (replayable_as_sent, not_replayable_reason, attempts)."""
    attempts = [(a["attempt"], a["replayable_as_sent"], a["not_replayable_reason"]) for a in item["attempts"]]
    return item["replayable_as_sent"], item["not_replayable_reason"], attempts


@pytest.mark.e2e
async def test_rejections_list_says_and_filters_whether_each_can_be_replayed_as_sent(system: RunningSystem) -> None:
    amqp_url, database_url = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    marker = uuid.uuid4().hex[:12]
    ids = {how: f"evt-{how}-{marker}" for how in ("kept", "mixed", "not_json")}
    member = b'{"id": "rac", "full_name": "R", "cell_id": "khong-co", "status": "asleep", "role": "member"}'
    async with feed(amqp_url) as bus:
        # `mixed` twice: first a copy a replay may pass (an unknown status), then one whose data reads as no JSON
        for event_id, body in (
            (ids["kept"], member),
            (ids["mixed"], member),
            (ids["mixed"], f"{{not json {marker}".encode()),
            (ids["not_json"], f"{{not json {marker}".encode()),
        ):
            await bus.publish(
                body,
                routing_key="member.upserted.v1",
                headers=binary_headers(event_id),
                content_type="application/json",
            )
    integration = await api_token(
        system, role="integration", unit=None, sub=f"ops-replayable-{marker}", province_wide=True
    )
    operator = await api_token(system, role="operator", unit=None, sub=f"api-operator-replayable-{marker}")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = {
            # refused for its content type: certain to be refused again as sent
            "plain": (f"hello {marker}".encode(), "text/plain"),
            # not UTF-8: its text is kept with U+FFFD for the bytes, not as sent
            "not_utf8": (b'{"id": "\xff\xfe' + f"nu-{marker}".encode() + b'"}', "application/cloudevents+json"),
        }
        for body, content_type in sent.values():
            answered = await api.post(
                "/v1/events",
                content=body,
                headers={"Authorization": f"Bearer {integration}", "Content-Type": content_type},
            )
            assert answered.status_code >= 400, answered.text

        async def listed() -> dict[str, dict[str, Any]] | None:
            answer = await api.get(
                "/v1/rejections?status=open&limit=200", headers={"Authorization": f"Bearer {operator}"}
            )
            items = answer.json()["items"]
            mine = {i["event_id"]: i for i in items if i["event_id"] in ids.values()}
            mine.update((name, i) for name, found in stored.items() for i in items if i["rejection_id"] == found)
            two = mine.get(ids["mixed"], {}).get("attempts", [])
            return mine if len(mine) == 5 and len(two) == 2 else None

        database = await asyncpg.connect(database_url)
        try:

            async def found() -> dict[str, str] | None:
                rows = await database.fetch(
                    "SELECT rejection_id, raw FROM meetings.rejection WHERE raw = $1 OR strpos(raw, $2) > 0",
                    f"hello {marker}",
                    f"nu-{marker}",
                )
                named = {
                    "plain" if row["raw"] == f"hello {marker}" else "not_utf8": row["rejection_id"] for row in rows
                }
                return named if len(named) == 2 else None

            stored = await eventually(found, timeout=60, interval=0.5)
        finally:
            await database.close()
        from_api = await eventually(listed, timeout=60, interval=0.5)

    expected = {
        ids["kept"]: (True, None, [(1, True, None)]),
        ids["mixed"]: (False, "body_reads_no_json", [(1, True, None), (2, False, "body_reads_no_json")]),
        ids["not_json"]: (False, "body_reads_no_json", [(1, False, "body_reads_no_json")]),
        "not_utf8": (False, "body_not_kept", [(1, False, "body_not_kept")]),
        "plain": (False, "refused_again_as_sent", [(1, False, "refused_again_as_sent")]),
    }
    assert {e: replay_fields(from_api[e]) for e in expected} == expected  # the gateway passes them through

    cli = await asyncio.to_thread(ops, amqp_url, database_url, "rejections", "list", "--limit", "1000")
    by_id = {i["rejection_id"]: i for i in cli["items"]}
    for event_id, fields in expected.items():
        item = by_id[from_api[event_id]["rejection_id"]]
        assert replay_fields(item) == fields, event_id
        assert "kept_tail" not in item and all("kept_tail" not in a for a in item["attempts"])
    assert by_id[from_api["not_utf8"]["rejection_id"]]["body_not_kept"] == "not_utf8"
    replayable = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "list", "--replayable", "--limit", "1000"
    )
    unreplayable = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "list", "--not-replayable", "--limit", "1000"
    )
    assert all(i["replayable_as_sent"] is True for i in replayable["items"])
    assert all(i["replayable_as_sent"] is False for i in unreplayable["items"])
    assert replayable["total"] == len(replayable["items"]) and unreplayable["total"] == len(unreplayable["items"])
    kept = from_api[ids["kept"]]["rejection_id"]
    mine = {from_api[e]["rejection_id"] for e in expected} - {kept}
    assert mine <= {i["rejection_id"] for i in unreplayable["items"]} and kept not in mine
    assert {i["rejection_id"] for i in replayable["items"]} & (mine | {kept}) == {kept}

    # paged as the unfiltered listing is: newest first, `total` the filtered count
    first = await asyncio.to_thread(
        ops, amqp_url, database_url, "rejections", "list", "--not-replayable", "--limit", "1", "--offset", "1"
    )
    assert first["total"] == unreplayable["total"]
    assert [i["rejection_id"] for i in first["items"]] == [unreplayable["items"][1]["rejection_id"]]

    both = await asyncio.to_thread(
        run_ops, amqp_url, database_url, "rejections", "list", "--replayable", "--not-replayable"
    )
    assert both.returncode == 2 and "not allowed with" in both.stderr, both.stderr
