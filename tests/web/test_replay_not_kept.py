"""The operations page offers "Xét lại" only for a rejection whose body was kept as sent: one cut at the size limit
or not valid UTF-8 (meetings' `body_not_kept`) shows no replay button but a note why, as the command line's replay
says (a trial's operator pressed it and read "over the size limit" of a body that was not UTF-8). Rendered from the
template without a running system; the reply carries the field from meetings to the page. A binary-mode message whose
body (its `data`) does not read is followed through the real broker, meetings and the gateway to the page, and its
replay by the API, the command line and a stale page's form is refused (409 body_reads_no_json), storing no attempt."""

import asyncio
import json
import re
import uuid
from datetime import datetime
from typing import Any

import aio_pika
import asyncpg
import httpx
import pytest

from services.gateway.schemas.operations import RejectionRead
from services.meetings.handlers.ingest import replayable_as_sent_fields, too_large
from shared.periods import VIETNAM_TZ
from shared.topology import INGEST_EXCHANGE
from tests.meetings.feed import feed
from tests.support.ids import random_id
from tests.support.ops import run_ops
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in, web_account
from tests.web.operations_render import PAGER, operations_html
from tests.web.test_rejection_sender import row_by_id


def rejection(rejection_id: str, *, raw: str = '{"id": "e-1"}', **extra: Any) -> dict[str, Any]:
    """An open rejection that a replay as it was may pass (its reference known by then), as GET /v1/rejections lists
    it: stored with `raw` and its reason, each attempt with its own, its replayability as meetings' reply says it
    (handlers.ingest.replayable_as_sent_fields)."""
    listed = {
        "rejection_id": rejection_id,
        "received_at": "2026-11-20T19:30:00+07:00",
        "event_id": "",
        "type": "org.unit.upserted.v1",
        "reason": "data.parent_id: unit xa-1 is unknown",
        "field": "data.parent_id",
        "status": "open",
        **extra,
    }
    listed |= replayable_as_sent_fields({"raw": raw, "reason": listed["reason"]})
    listed["attempts"] = [
        attempt | replayable_as_sent_fields({"raw": attempt.pop("raw", raw), "reason": attempt["reason"]})
        for attempt in map(dict, listed.get("attempts", []))
    ]
    return RejectionRead.model_validate(listed).model_dump()


NOT_KEPT: dict[str, dict[str, str]] = {
    "cut": {"raw": '{"id": "e-1", "data": {"pad": "xxxx… (2000000 bytes in all)', "reason": too_large(2_000_000)},
    "not_utf8": {"reason": "body: not valid UTF-8 (invalid start byte at byte 15)"},
}
"""How meetings stores a body not kept as sent, by `body_not_kept`: a prefix and its size, or a reason saying its
bytes are not UTF-8."""


@pytest.mark.parametrize(
    ("how", "note"),
    [
        ("cut", "vượt quá giới hạn kích thước nên hệ thống chỉ lưu phần đầu"),
        ("not_utf8", "không phải UTF-8 hợp lệ nên hệ thống không lưu được nguyên văn"),
    ],
)
def test_a_rejection_whose_body_was_not_kept_has_no_replay_button_but_a_note(how: str, note: str) -> None:
    items = [rejection("rej-kept"), rejection("rej-lost", **NOT_KEPT[how])]
    assert items[1]["body_not_kept"] == how and items[0]["body_not_kept"] is None
    page = operations_html(rejections={"items": items, "total": 2}, rejections_pager=PAGER, held_pager=PAGER)
    assert page.count("/operations/rejections/replay") == 1  # the kept one's only
    replay = page[page.index("/operations/rejections/replay") :]
    assert re.match(r'[^>]*>\s*<input[^>]*><input type="hidden" name="rejection_id" value="rej-kept"', replay)
    assert page.count("data-body-not-kept=") == 1 and f'data-body-not-kept="{how}"' in page and note in page
    # the one not kept may still be closed without replaying
    assert page.count("/operations/rejections/dismiss") == 2


NOT_JSON_NOTE = "nội dung gửi đến không đọc được dưới dạng JSON"


@pytest.mark.parametrize("route", ["http", "amqp"])
@pytest.mark.parametrize(
    "reason",
    [
        "body: not valid JSON (Expecting value at line 1 column 1)",
        "body: JSON nested deeper than 64 levels",
        # a structured body kept whole, too deep under one of its fields
        "data.agenda: JSON nested deeper than 32 levels",
        # a binary-mode body (the event's `data`) that is not JSON, not UTF-8, or too deep (shared.bindings)
        "data: not valid JSON (Expecting value at line 1 column 1)",
        "data: not valid JSON (not UTF-8 text)",
        "data: JSON nested deeper than 32 levels",
    ],
)
def test_a_rejection_whose_body_reads_no_json_has_no_replay_button_but_a_note(route: str, reason: str) -> None:
    """A body kept whole that is not JSON is refused again for the same reason when replayed as it was: a trial's
    page offered "Xét lại" on one, which could only fail again. Whatever route it came by, no replay (of the
    rejection nor of that attempt), a note why, and it may still be closed."""
    attempt = {
        "attempt": 1,
        "route": route,
        "reason": reason,
        "field": "body",
        "received_at": "2026-11-20T19:30:00+07:00",
    }
    later = attempt | {"attempt": 2}
    items = [
        rejection("rej-kept"),
        rejection("rej-no-json", reason=reason, type=None, attempts=[attempt, later]),
    ]
    page = operations_html(rejections={"items": items, "total": 2}, rejections_pager=PAGER, held_pager=PAGER)
    assert page.count("/operations/rejections/replay") == 1, page  # the kept one's only
    assert 'data-body-not-kept="not_json"' in page and NOT_JSON_NOTE in page
    assert "Không thể xét lại nguyên trạng" in page
    assert page.count("/operations/rejections/dismiss") == 2


def test_a_rejection_refused_for_another_reason_under_data_keeps_its_replay() -> None:
    """Only a body that cannot be read again loses its replay: data that reads but is wrong may be replayed."""
    items = [rejection("rej-data", reason="data.status: Input should be 'official' or 'probationary'", type=None)]
    page = operations_html(rejections={"items": items, "total": 1}, rejections_pager=PAGER, held_pager=PAGER)
    assert page.count("/operations/rejections/replay") == 1 and "data-body-not-kept=" not in page


FEED = "urn:test:replay-not-kept"

BINARY_BODIES = {
    "not_json": b"{not json",
    "not_utf8": b'{"id": "\xff\xfe"}',
    "too_deep": b'{"agenda": ' + b"[" * 40 + b"]" * 40 + b"}",
    "far_too_deep": b"[" * 2000 + b"]" * 2000,
}
"""Binary-mode bodies under `application/json` that meetings cannot read as the event's `data`."""


@pytest.mark.e2e
async def test_a_binary_mode_message_whose_data_reads_no_json_has_no_replay_button(system: RunningSystem) -> None:
    """A trial's binary-mode AMQP message (attributes as `ce-` headers, CONTRACT.md "Routes in") whose body was not
    JSON was refused naming `data`, and the page still offered "Xét lại": the body is stored in structured form with
    its text as a string, so a replay could only be refused again. Through the real broker, meetings and the gateway,
    each such rejection shows the note instead of a replay, and may still be closed."""
    amqp_url = system.env["CHIBO_AMQP_URL"]
    sent: dict[str, str] = {}
    async with feed(amqp_url) as bus:
        for how, body in BINARY_BODIES.items():
            event_id = f"evt-{how}-{uuid.uuid4().hex[:12]}"
            headers = {
                "ce-specversion": "1.0",
                "ce-id": event_id,
                "ce-source": FEED,
                "ce-type": "member.upserted.v1",
                "ce-time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
            }
            await bus.publish(body, routing_key="member.upserted.v1", headers=headers, content_type="application/json")
            sent[event_id] = how
    operator = await api_token(system, role="operator", unit=None, sub="api-operator-not-kept")
    await web_account(system, "operator-not-kept", "operator", None, None)
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:

        async def stored() -> dict[str, dict[str, Any]] | None:
            listed = (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
            mine = {item["event_id"]: item for item in listed if item["event_id"] in sent}
            return mine if len(mine) == len(sent) else None

        mine = await eventually(stored, timeout=60)
    for item in mine.values():
        assert item["field"].startswith("data") and item["body_not_kept"] is None, item
    async with signed_in(system, "operator-not-kept") as client:
        page = (await client.get("/app/operations?rejections_offset=0")).text
    for event_id, item in mine.items():
        rows = [row for row in page.split("<tr>") if f"<code>{event_id}</code>" in row]
        assert len(rows) == 1, f"{sent[event_id]}: {event_id} is not listed once on the page"
        row = rows[0]
        assert "/operations/rejections/replay" not in row, (sent[event_id], item["reason"])
        assert 'data-body-not-kept="not_json"' in row and NOT_JSON_NOTE in row, (sent[event_id], item["reason"])
        assert "/operations/rejections/dismiss" in row

    # Nor replayed as it was by any other door (a trial's replay stored a new attempt refused for another reason,
    # `data: Input should be a valid dictionary`): the API and the command line are refused up front, 409
    # body_reads_no_json naming the first reason, and a page older than the rule (its form posted) says why.
    amqp_url, database_url = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        for event_id, item in mine.items():
            refused = await api.post(f"/v1/rejections/{item['rejection_id']}/replay")
            assert refused.status_code == 409, (sent[event_id], refused.text)
            said = refused.json()
            assert said["reason_code"] == "body_reads_no_json" and item["reason"] in said["message"], said
            for attempt in ({"attempt": 1}, {}):
                again = await api.post(f"/v1/rejections/{item['rejection_id']}/replay", json=attempt)
                assert again.status_code == 409 and again.json()["reason_code"] == "body_reads_no_json"
        how = "not_json"
        [(event_id, item)] = [(e, i) for e, i in mine.items() if sent[e] == how]
        ran = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "rejections", "replay", "--id", item["rejection_id"]
        )
        assert ran.returncode == 3, ran.stderr
        assert "cannot be read as JSON" in ran.stderr and "(body_reads_no_json)" in ran.stderr, ran.stderr
        async with signed_in(system, "operator-not-kept") as client:
            page = (await client.get("/app/operations?rejections_offset=0")).text
            form = {"csrf": csrf_of(page), "rejection_id": item["rejection_id"], "event_id": event_id}
            stale = await client.post("/app/operations/rejections/replay", data=form)
        assert stale.status_code == 409, stale.text
        assert f"Không thể xét lại nguyên trạng sự kiện bị từ chối {event_id}" in stale.text
        assert NOT_JSON_NOTE in stale.text
        # nothing judged again: each rejection open with the attempts it had, no replay noted
        after = (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
        still = {listed["event_id"]: listed for listed in after if listed["event_id"] in sent}
    for event_id, item in mine.items():
        assert len(still[event_id]["attempts"]) == len(item["attempts"]), sent[event_id]
        assert still[event_id]["last_replay_reason"] is None, sent[event_id]


AS_SENT_NOTE = "nếu xét lại nguyên văn cũng chỉ bị từ chối lần nữa vì cùng lý do"


@pytest.mark.e2e
async def test_bodies_refused_for_their_content_type_or_batch_envelope_are_not_replayed(
    system: RunningSystem,
) -> None:
    """A trial's operator was offered "Xét lại" (and the API answered 200, the command line exited 0, storing a new
    attempt refused again) for bodies that can never pass as sent: refused for their content type (`text/plain`,
    `application/xml`, none at all), over HTTP and AMQP, and batch envelopes that are no batch (not an array, 1,001
    events, an item that is no object). Through the real services, each shows no replay but a note, the API answers
    409 refused_again_as_sent naming the first reason, the command line fails, and no attempt is stored."""
    marker = random_id("as-sent")
    number = str(uuid.uuid4().int % 10**15)
    cases: dict[str, tuple[str, bytes, str | None]] = {
        "http-plain": ("http", f"hello {marker}-http-plain".encode(), "text/plain"),
        "http-xml": ("http", f"<e id='{marker}-http-xml'/>".encode(), "application/xml"),
        "http-none": ("http", f"garbage {marker}-http-none".encode(), None),
        "amqp-plain": ("amqp", f"hello {marker}-amqp-plain".encode(), "text/plain"),
        "amqp-xml": ("amqp", f"<e id='{marker}-amqp-xml'/>".encode(), "application/xml"),
        "amqp-none": ("amqp", f"garbage {marker}-amqp-none".encode(), None),
        "http-not-array": (
            "http",
            f'{{"m": "{marker}-http-not-array"}}'.encode(),
            "application/cloudevents-batch+json",
        ),
        "http-many": (
            "http",
            json.dumps([{"m": f"{marker}-http-many"}] * 1001).encode(),
            "application/cloudevents-batch+json",
        ),
        "http-item": ("http", f"[{number}]".encode(), "application/cloudevents-batch+json"),
    }
    integration = await api_token(system, role="integration", unit=None, sub=random_id("as-sent"), province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
        for name, (route, body, content_type) in cases.items():
            if route != "http":
                continue
            headers = {"Authorization": f"Bearer {integration}"}
            if content_type:
                headers["Content-Type"] = content_type
            sent = await api.post("/v1/events", content=body, headers=headers)
            assert sent.status_code >= 400, (name, sent.status_code, sent.text)
    connection = await aio_pika.connect(system.env["CHIBO_AMQP_URL"])
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        for route, body, content_type in cases.values():
            if route == "amqp":
                message = aio_pika.Message(
                    body, content_type=content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
                )
                await exchange.publish(message, routing_key="member.upserted.v1")
    finally:
        await connection.close()

    database = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:

        async def stored() -> dict[str, str] | None:
            rows = await database.fetch(
                "SELECT rejection_id, raw FROM meetings.rejection WHERE strpos(raw, $1) > 0 OR raw = $2",
                marker,
                number,
            )
            found = {
                name: str(row["rejection_id"]) for name in cases for row in rows if f"{marker}-{name}" in row["raw"]
            }
            found.update(("http-item", str(row["rejection_id"])) for row in rows if row["raw"] == number)
            return found if len(found) == len(cases) else None

        found = await eventually(stored, timeout=60, interval=0.5)
    finally:
        await database.close()

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-as-sent"))
    web_sub = random_id("operator-as-sent")
    await web_account(system, web_sub, "operator", None, None)
    async with signed_in(system, web_sub) as client:
        page = (await client.get("/app/operations?rejections_offset=0")).text
    for name, rejection_id in found.items():
        row = row_by_id(page, rejection_id)
        assert "/operations/rejections/replay" not in row, (name, row)
        assert 'data-body-not-kept="refused_as_sent"' in row and AS_SENT_NOTE in row, (name, row)
        assert "/operations/rejections/dismiss" in row
        assert "Thiếu phiên bản CloudEvents" not in row, (name, row)
    assert "Thiếu kiểu nội dung (Content-Type)" in row_by_id(page, found["http-none"])

    amqp_url, database_url = system.env["CHIBO_AMQP_URL"], system.env["CHIBO_DATABASE_URL"]
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        before = {
            item["rejection_id"]: item
            for item in (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
            if item["rejection_id"] in found.values()
        }
        assert set(before) == set(found.values()), before
        for name, rejection_id in found.items():
            refused = await api.post(f"/v1/rejections/{rejection_id}/replay")
            assert refused.status_code == 409, (name, refused.text)
            said = refused.json()
            assert said["reason_code"] == "refused_again_as_sent", (name, said)
            assert before[rejection_id]["reason"] in said["message"], (name, said)
            ran = await asyncio.to_thread(run_ops, amqp_url, database_url, "rejections", "replay", "--id", rejection_id)
            assert ran.returncode != 0 and "(refused_again_as_sent)" in ran.stderr, (name, ran.stderr)
        after = {
            item["rejection_id"]: item
            for item in (await api.get("/v1/rejections?status=open&limit=200")).json()["items"]
            if item["rejection_id"] in found.values()
        }
    for name, rejection_id in found.items():
        assert len(after[rejection_id]["attempts"]) == len(before[rejection_id]["attempts"]), name
        assert after[rejection_id]["last_replay_reason"] is None, name
