"""Operators recover over HTTP: dead letters on the real broker (rejected by a real consumer, listed, replayed to
their queue and consumed there, purged), parked outbox rows and held events through the services' RPC; each
action audited, and the dead letters shown in the system's health."""

import html
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel

from services.gateway.bootstrap import GatewayState
from shared.consuming import death_headers
from shared.instances import InstanceBoard, InstanceIdentity
from shared.ops import dead_letters
from shared.topology import EVALUATION_FACTS
from tests.gateway.fakes import World
from tests.gateway.test_operations import operator_page
from tests.support.ids import random_id
from tests.support.running import eventually

QUEUE = EVALUATION_FACTS.name
DLQ = EVALUATION_FACTS.dead_letter_queue


async def dead_letter(
    channel: AbstractChannel, *, event_type: str = "meeting.scheduled.v1", data: dict[str, Any] | None = None
) -> str:
    """Publish an event to evaluation's queue and reject it there, as a consumer gives up on a message; its id."""
    event_id = f"evt-{uuid.uuid4().hex[:12]}"
    body = {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:test:dlq",
        "type": event_type,
        "data": data or {"x": 1},
    }
    content = json.dumps(body, ensure_ascii=False).encode()
    await channel.default_exchange.publish(
        aio_pika.Message(content, message_id=event_id, headers={"ce-note": "thử"}), routing_key=QUEUE
    )
    queue = await channel.get_queue(QUEUE, ensure=False)

    async def taken() -> aio_pika.abc.AbstractIncomingMessage | None:
        return await queue.get(no_ack=False, fail=False)

    message = await eventually(taken)
    assert message.message_id == event_id
    await message.reject(requeue=False)
    return event_id


async def test_the_preview_of_a_vietnamese_dead_letter_is_whole_letters(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    minutes = "Chi bộ thảo luận, thống nhất nghị quyết tháng Mười Hai; đồng chí Huỳnh Đức Bình phụ trách. " * 20
    event_id = await dead_letter(channel, data={"minutes": minutes})

    async def listed() -> dict[str, Any] | None:
        page = (await client.get(f"/v1/dead-letters/{DLQ}?limit=10", headers=headers["operator"])).json()
        return page if page.get("total") == 1 else None

    [item] = (await eventually(listed))["items"]
    assert item["event_id"] == event_id
    preview = item["body_preview"]
    assert "\ufffd" not in preview  # no letter cut in half
    assert len(preview) == 500 and item["body_bytes"] > 500 * 1.2  # 500 characters of a longer, multi-byte body
    whole = json.dumps({"specversion": "1.0", "id": event_id}, ensure_ascii=False)[:-1]
    assert preview.startswith(whole) and minutes[:100] in preview


async def test_a_rejected_message_is_listed_replayed_to_its_queue_and_consumed(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    operator = headers["operator"]
    event_id = await dead_letter(channel)

    async def listed() -> dict[str, Any] | None:
        page = (await client.get(f"/v1/dead-letters/{DLQ}?limit=10", headers=operator)).json()
        return page if page.get("total") == 1 else None

    page = await eventually(listed)
    [item] = page["items"]
    assert page["service"] == "evaluation"
    assert (item["event_id"], item["message_id"], item["queue"]) == (event_id, event_id, QUEUE)
    assert item["reason"] == "rejected" and item["death_count"] == 1
    assert item["headers"]["ce-note"] == "thử" and event_id in item["body_preview"]

    health = (await client.get("/v1/system/health", headers=operator)).json()
    # other queues of the package's vhost are not this test's: only this one's count is known
    assert health["status"] == "degraded", health
    assert health["dead_letters"][DLQ] == 1 and health["dead_letters_total"] >= 1, health["dead_letters"]
    assert f"1 dead letters in {DLQ}" in health["attention"]
    overview = (await client.get("/v1/operations/overview", headers=operator)).json()
    assert overview["status"] == "degraded" and overview["dead_letters_total"] >= 1
    assert overview["services"]["evaluation"]["dead_letters"][DLQ] == 1

    replayed = await client.post(f"/v1/dead-letters/{DLQ}/replay", json={"event_id": event_id}, headers=operator)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {"queue": DLQ, "service": "evaluation", "replayed": 1, "kept": 0}

    # back in its own queue, where a consumer takes it, knowing it was replayed
    queue = await channel.get_queue(QUEUE, ensure=False)
    message = await eventually(lambda: queue.get(no_ack=False, fail=False))
    assert message.message_id == event_id and (message.headers or {}).get("x-chibo-replayed") == 1
    await message.ack()
    assert (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["total"] == 0
    after = (await client.get("/v1/system/health", headers=operator)).json()
    assert after["dead_letters"][DLQ] == 0 and f"1 dead letters in {DLQ}" not in after["attention"]

    audit = (await client.get("/v1/audit?limit=200", headers=headers["admin"])).json()["items"]
    [entry] = [e for e in audit if (e["detail"] or {}).get("event_id") == event_id]
    assert entry["path"] == f"/v1/dead-letters/{DLQ}/replay"
    assert entry["role"] == "operator" and entry["status"] == 200
    assert entry["detail"] == {
        "action": "dead_letters_replayed",
        "queue": DLQ,
        "replayed": 1,
        "kept": 0,
        "event_id": event_id,
    }


async def test_each_dead_letter_of_a_batch_names_the_batch_message_on_the_api_and_the_page(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    channel: AbstractChannel,
    amqp_url: str,
    database_url: str,
) -> None:
    """A trial's `[1,2]` sent as message `t34-web-1` died as two letters with new ids and only a batch position: the
    operator could not link them back to what was sent. Each is listed with the batch's message and correlation ids
    (`batch_message_id`, `batch_correlation_id`, `batch_position`), and the page names them in Vietnamese."""
    operator = headers["operator"]
    batch_id = random_id("t34-web")
    for position, body in enumerate((b"1", b"2")):  # as evaluation's consumer dead-letters each element itself
        await channel.default_exchange.publish(
            aio_pika.Message(
                body,
                message_id=f"{batch_id}-{position}",
                timestamp=datetime.now(UTC),
                headers={
                    **death_headers(QUEUE, cause="not an event", death="rejected", deliveries=0),
                    "x-chibo-batch-position": position,
                    "x-chibo-batch-message-id": batch_id,
                    "x-chibo-batch-correlation-id": "corr-34",
                },
            ),
            routing_key=DLQ,
        )

    async def listed() -> list[dict[str, Any]] | None:
        page = (await client.get(f"/v1/dead-letters/{DLQ}?limit=10", headers=operator)).json()
        return page["items"] if page.get("total") == 2 else None

    items = await eventually(listed)
    assert sorted(
        (item["batch_message_id"], item["batch_correlation_id"], item["batch_position"]) for item in items
    ) == [
        (batch_id, "corr-34", 0),
        (batch_id, "corr-34", 1),
    ]
    page = await operator_page(client, amqp_url, database_url)
    assert f"Gửi trong lô tin nhắn mã {batch_id}, là sự kiện thứ 2 của lô · mã liên kết corr-34" in page
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 2


async def test_a_dead_letter_shows_its_cause_and_its_deliveries_however_often_it_is_listed(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    channel: AbstractChannel,
    amqp_url: str,
    database_url: str,
) -> None:
    """The tester's case: a dead letter said only `rejected` (the cause was in the service's log), and each view of
    the page raised its raw `x-delivery-count` (25 views: 3 to 27). The cause the consumer wrote is listed with the
    letter, on the API and the operator page; the delivery count is the consumer's, not the views'."""
    operator = headers["operator"]
    event_id = f"evt-{uuid.uuid4().hex[:12]}"
    body = json.dumps({"specversion": "1.0", "id": event_id, "source": "urn:test:dlq", "type": "meeting.scheduled.v1"})
    cause = "data.cell_id: Field required"
    await channel.default_exchange.publish(  # as evaluation's consumer dead-letters an invalid event itself
        aio_pika.Message(
            body.encode(),
            message_id=event_id,
            timestamp=datetime.now(UTC),
            headers=death_headers(QUEUE, cause=cause, death="rejected", deliveries=3),
        ),
        routing_key=DLQ,
    )

    async def listed() -> dict[str, Any] | None:
        page = (await client.get(f"/v1/dead-letters/{DLQ}?limit=10", headers=operator)).json()
        return page if page.get("total") == 1 else None

    await eventually(listed)
    for view in range(25):
        [item] = (await client.get(f"/v1/dead-letters/{DLQ}?limit=10", headers=operator)).json()["items"]
        assert (item["event_id"], item["reason"], item["cause"]) == (event_id, "rejected", cause), (view, item)
        assert (item["delivery_count"], item["death_count"]) == (3, 1), (view, item)
        assert "x-delivery-count" not in item["headers"] or item["headers"]["x-delivery-count"] == 3, (view, item)
    page = await operator_page(client, amqp_url, database_url)
    row = page[page.index(f'<tr data-event="{event_id}">') :]
    row = row[: row.index("</tr>")]
    assert "Chi tiết kỹ thuật" in row and cause in row, row
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 1


async def test_dead_letters_are_purged_and_only_known_queues_are_reached(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    operator = headers["operator"]
    await dead_letter(channel)
    await dead_letter(channel)
    await eventually(
        lambda: _total(client, operator, DLQ, expected=2),
    )
    # a replay naming an id no dead letter has is not found (it counted as a success, `replayed: 0`); both stay
    for choice in ({"event_id": "nope"}, {"message_id": "nope"}, {"key": "0" * 32}):
        unknown = await client.post(f"/v1/dead-letters/{DLQ}/replay", json=choice, headers=operator)
        assert unknown.status_code == 404 and unknown.json()["field"] == next(iter(choice)), unknown.text
        assert f"no dead letter in {DLQ} has the " in unknown.json()["message"], unknown.text
    purged = await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)
    assert purged.status_code == 200 and purged.json()["purged"] == 2
    assert (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["total"] == 0
    for path in ("/v1/dead-letters/evaluation.factz", "/v1/dead-letters/chibo.unrouted.dlq"):
        missing = await client.get(path, headers=operator)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found", path
        assert missing.json()["field"] == "queue" and "GET /v1/dead-letters" in missing.json()["message"], path
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=headers["admin"])).status_code == 403


async def test_a_replay_naming_two_selectors_is_refused_naming_both_and_replays_nothing(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    operator = headers["operator"]
    event_id = await dead_letter(channel)
    await eventually(lambda: _total(client, operator, DLQ, expected=1))
    # `key` was used alone and `event_id` silently dropped: two selectors are refused, naming them
    for choice, named in (
        ({"key": "a", "event_id": event_id}, "key and event_id"),
        ({"key": "a", "message_id": event_id}, "key and message_id"),
        ({"event_id": event_id, "message_id": "b"}, "event_id and message_id"),
        ({"key": "a", "limit": 1}, "key and limit"),
    ):
        refused = await client.post(f"/v1/dead-letters/{DLQ}/replay", json=choice, headers=operator)
        assert refused.status_code == 422 and named in refused.json()["message"], (choice, refused.text)
    assert (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["total"] == 1
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 1


async def test_a_purge_sent_twice_deletes_no_letter_that_died_unseen_in_the_listed_second(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    """The trial: a letter listed (`through` its death, in whole seconds as the broker writes x-death), a second one
    dead-lettered by the broker in that same second, and the purge naming the listing sent twice: the second purge
    deleted the letter nobody saw."""
    operator = headers["operator"]
    for _attempt in range(5):  # until the broker kills both in one second (it nearly always does at once)
        await dead_letter(channel)
        await eventually(lambda: _total(client, operator, DLQ, expected=1))
        listing = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()
        unseen = await dead_letter(channel)
        await eventually(lambda: _total(client, operator, DLQ, expected=2))
        items = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["items"]
        if all(datetime.fromisoformat(item["died_at"]) == datetime.fromisoformat(listing["through"]) for item in items):
            break
        assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 2
    else:
        raise AssertionError("the broker never dead-lettered two messages in one second")
    shown = {"through": listing["through"], "count": listing["total"], "newest": listing["newest"]}
    first = await client.post(f"/v1/dead-letters/{DLQ}/purge", params=shown, headers=operator)
    again = await client.post(f"/v1/dead-letters/{DLQ}/purge", params=shown, headers=operator)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["purged"] + again.json()["purged"] <= 1, (first.json(), again.json())
    left = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["items"]
    assert unseen in [item["event_id"] for item in left], left  # never shown, never deleted
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).status_code == 200


async def test_dead_letters_page_on_from_an_offset_each_read_once_in_the_same_order(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    """More dead letters than a page: the next page starts where the first ended and each message is listed once,
    oldest death first, however often the queue is read (a quorum queue reorders messages that return to it); all
    stay; past the end the page is empty and still says how many there are."""
    operator = headers["operator"]
    sent = [await dead_letter(channel) for _ in range(25)]
    await eventually(lambda: _total(client, operator, DLQ, expected=25))

    async def listed(query: str) -> dict[str, Any]:
        response = await client.get(f"/v1/dead-letters/{DLQ}?{query}", headers=operator)
        assert response.status_code == 200, response.text
        return dict(response.json())

    first, second = await listed("limit=20"), await listed("limit=20&offset=20")
    assert (first["total"], first["offset"], second["total"], second["offset"]) == (25, 0, 25, 20)
    listing = first["items"] + second["items"]
    assert sorted(item["event_id"] for item in listing) == sorted(sent)
    assert [item["position"] for item in listing] == list(range(25))
    assert listing == sorted(listing, key=lambda item: (item["died_at"], item["message_id"]))
    again = await listed("limit=20")
    assert [item["event_id"] for item in again["items"]] == [item["event_id"] for item in first["items"]]
    beyond = await listed("limit=20&offset=25")
    assert (beyond["total"], beyond["offset"], beyond["items"]) == (25, 25, [])
    assert (await client.get(f"/v1/dead-letters/{DLQ}?offset=-1", headers=operator)).status_code == 422


async def test_the_health_read_right_after_a_purge_says_the_new_count_not_the_heartbeats_old_one(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    channel: AbstractChannel,
    app_and_state: tuple[object, GatewayState],
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    """Trial: right after a purge answered `purged: 3`, /v1/system/health still said `degraded ... 3 dead letters in
    evaluation.facts.dlq` for ~15 s: evaluation's last heartbeat (sent every few seconds) still held its figure. The
    depths the gateway measures on the broker at the read correct the heartbeats, so the next read is right."""
    operator = headers["operator"]
    _, state = app_and_state
    board = InstanceBoard()
    monkeypatch.setattr(state, "instances", board)  # this test's evaluation process only, not the package's view
    await dead_letter(channel)
    await eventually(lambda: _total(client, operator, DLQ, expected=1))
    line = f"1 dead letters in {DLQ}"
    report = {"service": "evaluation", "status": "degraded", "database": "ok", "broker": "ok"}
    # evaluation's heartbeat as its /health measured it: the letter waiting, so degraded
    board.record(
        InstanceIdentity("evaluation").status(
            "degraded", [line], {**report, "dead_letters": {DLQ: 1}, "attention": [line]}
        )
    )
    before = (await client.get("/v1/system/health", headers=operator)).json()
    assert before["services"]["evaluation"]["status"] == "degraded" and line in before["attention"], before

    purged = await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)
    assert purged.status_code == 200 and purged.json()["purged"] == 1, purged.text
    after = (await client.get("/v1/system/health", headers=operator)).json()
    assert after["dead_letters"][DLQ] == 0, after["dead_letters"]
    assert not any(DLQ in said for said in after["attention"]), after["attention"]
    evaluation = after["services"]["evaluation"]
    assert evaluation["status"] == "ok" and evaluation["detail"]["dead_letters"][DLQ] == 0, evaluation
    assert evaluation["detail"]["attention"] == [] and evaluation["instances"][0]["attention"] == [], evaluation
    assert after["measured_at"] is not None and before["measured_at"] <= after["measured_at"]
    # the operator page says when its figures were measured, on Vietnam's clock
    page = await operator_page(client, amqp_url, database_url)
    measured = page[page.index('id="measured-at">') :].split("<", 1)[0]
    assert re.fullmatch(r'id="measured-at">Đo lúc [0-2][0-9]:[0-5][0-9]:[0-5][0-9]', measured), measured


async def _total(client: httpx.AsyncClient, operator: dict[str, str], queue: str, *, expected: int) -> bool:
    return bool((await client.get(f"/v1/dead-letters/{queue}", headers=operator)).json()["total"] == expected)


async def test_an_operator_replays_and_drops_parked_outbox_rows(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    operator = headers["operator"]
    first, second, third = (world.park("notifications") for _ in range(3))
    listed = (await client.get("/v1/outbox/notifications/parked", headers=operator)).json()
    assert {first, second, third} <= {item["id"] for item in listed["items"]}
    assert listed["items"][0]["parked_reason"].startswith("NOT_FOUND")
    one = await client.post("/v1/outbox/notifications/parked/replay", json={"ids": [first]}, headers=operator)
    assert one.json() == {"service": "notifications", "replayed": 1, "replayed_ids": [first], "unknown": []}
    dropped = await client.post(
        f"/v1/outbox/notifications/parked/{second}/drop", json={"reason": "Sự kiện lỗi thời"}, headers=operator
    )
    assert dropped.status_code == 200 and dropped.json()["id"] == second
    again = await client.post(
        f"/v1/outbox/notifications/parked/{second}/drop", json={"reason": "Lần nữa"}, headers=operator
    )
    assert again.status_code == 404
    # ids that name no parked row only: not found (it counted as a success, `replayed: 0`), naming them
    named = await client.post("/v1/outbox/notifications/parked/replay", json={"ids": [424242]}, headers=operator)
    assert named.status_code == 404 and named.json()["field"] == "ids", named.text
    assert "no parked row 424242" in named.json()["message"], named.text
    # known and unknown ids: the known ones were replayed, so it is a success listing them, and each unknown one is
    # named as not found in the error shape (it answered 404 though rows had gone back in line)
    mixed = await client.post(
        "/v1/outbox/notifications/parked/replay", json={"ids": [third, 424242, 424243]}, headers=operator
    )
    assert mixed.status_code == 200, mixed.text
    assert mixed.json() == {
        "service": "notifications",
        "replayed": 1,
        "replayed_ids": [third],
        "unknown": [
            {"id": row, "code": "not_found", "message": f"no parked row {row} in the notifications outbox"}
            for row in (424242, 424243)
        ],
    }
    assert third not in world.parked["notifications"]
    world.park("notifications")
    rest = await client.post("/v1/outbox/notifications/parked/replay", json={"all": True}, headers=operator)
    assert rest.json()["replayed"] >= 1 and third not in world.parked["notifications"]
    bad_bodies: list[dict[str, Any]] = [{}, {"ids": [1], "all": True}, {"ids": []}]
    for bad in bad_bodies:
        refused = await client.post("/v1/outbox/notifications/parked/replay", json=bad, headers=operator)
        assert refused.status_code == 422, bad
    unknown = await client.get("/v1/outbox/gateway/parked", headers=operator)
    assert unknown.status_code == 422 and unknown.json()["field"] == "path.service"
    no_reason = await client.post(f"/v1/outbox/meetings/parked/{third}/drop", json={}, headers=operator)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"

    audit = (await client.get("/v1/audit?limit=200", headers=headers["admin"])).json()["items"]
    dropped_event = dropped.json()["event_id"]
    [drop] = [e for e in audit if (e["detail"] or {}).get("event_id") == dropped_event]
    assert drop["path"] == f"/v1/outbox/notifications/parked/{second}/drop" and drop["status"] == 200
    assert drop["detail"]["action"] == "parked_row_dropped" and drop["detail"]["reason"] == "Sự kiện lỗi thời"


async def test_an_operator_retries_and_drops_held_events(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    operator = headers["operator"]
    waiting, dropped = world.hold(), world.hold()
    listed = (await client.get("/v1/held-events?limit=200", headers=operator)).json()
    assert {waiting["event_id"], dropped["event_id"]} <= {item["event_id"] for item in listed["items"]}
    identity = {"source": waiting["source"], "event_id": waiting["event_id"]}
    retried = await client.post("/v1/held-events/retry", json=identity, headers=operator)
    assert retried.status_code == 200 and retried.json()["outcome"] == "held"
    body = {"source": dropped["source"], "event_id": dropped["event_id"], "reason": "Nguồn đã hủy"}
    gone = await client.post("/v1/held-events/drop", json=body, headers=operator)
    assert gone.json()["outcome"] == "rejected" and "Nguồn đã hủy" in gone.json()["reason"]
    assert (await client.post("/v1/held-events/drop", json=body, headers=operator)).status_code == 404
    assert (await client.post("/v1/held-events/retry", json=identity, headers=headers["secretary"])).status_code == 403


async def test_retrying_an_event_not_held_says_it_was_rejected_or_that_no_such_event_is_held_or_rejected(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, amqp_url: str, database_url: str
) -> None:
    """The page's notice said an id neither held nor rejected was `accepted` (nothing confirmed it): the API and the
    page now say that no held or rejected event has that id (404), or that the event was rejected (409, its
    rejection named: it is replayed instead)."""
    operator = headers["operator"]
    nowhere = {"source": "urn:test:held", "event_id": random_id("evt")}
    unknown = await client.post("/v1/held-events/retry", json=nowhere, headers=operator)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["message"] == f"no held or rejected event has the id {nowhere['event_id']} from urn:test:held"
    dropped = world.hold()
    identity = {"source": dropped["source"], "event_id": dropped["event_id"]}
    gone = await client.post("/v1/held-events/drop", json={**identity, "reason": "Nguồn đã hủy"}, headers=operator)
    assert gone.status_code == 200, gone.text
    rejected = await client.post("/v1/held-events/retry", json=identity, headers=operator)
    assert rejected.status_code == 409 and rejected.json()["field"] == "event_id", rejected.text
    [rejection] = [r for r in world.rejections.values() if r["event_id"] == dropped["event_id"]]
    assert f"is not held: it was rejected (rejection {rejection['rejection_id']})" in rejected.json()["message"]

    # the operator's page says the same in Vietnamese, on the page itself, never "accepted"
    try:
        page = await operator_page(client, amqp_url, database_url, keep_signed_in=True)
        csrf = page[page.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]
        said = await client.post("/app/operations/held/retry", data={**nowhere, "csrf": csrf})
        assert said.status_code == 404, said.text
        text = html.unescape(said.text)
        assert (
            f"Không có sự kiện tạm giữ hoặc bị từ chối nào mang mã {nowhere['event_id']} từ nguồn urn:test:held."
            in text
        )
        assert "chấp nhận" not in text[text.index('id="page-errors"') :].split("</div>", 1)[0]
        said = await client.post("/app/operations/held/retry", data={**identity, "csrf": csrf})
        assert said.status_code == 409, said.text
        assert f"Sự kiện {dropped['event_id']} từ nguồn urn:test:held không còn bị tạm giữ: sự kiện đã bị từ chối" in (
            html.unescape(said.text)
        )
    finally:
        client.cookies.clear()


async def test_every_name_the_listing_shows_reads_replays_and_purges_its_dead_letters(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], channel: AbstractChannel
) -> None:
    """The fresh-user trial: `GET /v1/dead-letters` lists `evaluation.facts` (`queue`) beside
    `evaluation.facts.dlq` (`dead_letter_queue`), but `GET /v1/dead-letters/evaluation.facts` was a 404; only the
    `.dlq` worked. Both names the listing shows reach the same dead letters, answered under the `.dlq`'s name."""
    operator = headers["operator"]
    listing = (await client.get("/v1/dead-letters", headers=operator)).json()["queues"]
    shown = {(item["queue"], item["dead_letter_queue"]) for item in listing}
    assert (QUEUE, DLQ) in shown
    event_id = await dead_letter(channel)
    await eventually(lambda: _total(client, operator, DLQ, expected=1))
    for name, dead in sorted(shown):
        for asked in (name, dead):
            page = await client.get(f"/v1/dead-letters/{asked}", headers=operator)
            assert page.status_code == 200, (asked, page.text)
            assert page.json()["queue"] == dead, asked
    by_queue = (await client.get(f"/v1/dead-letters/{QUEUE}", headers=operator)).json()
    assert [item["event_id"] for item in by_queue["items"]] == [event_id]
    replayed = await client.post(f"/v1/dead-letters/{QUEUE}/replay", json={"event_id": "nope"}, headers=operator)
    assert replayed.status_code == 404 and f"no dead letter in {DLQ} has the " in replayed.json()["message"]
    purged = await client.post(f"/v1/dead-letters/{QUEUE}/purge", headers=operator)
    assert purged.status_code == 200 and purged.json() == {**purged.json(), "queue": DLQ, "purged": 1}


async def test_a_cut_listing_is_said_and_a_purge_naming_more_than_it_showed_deletes_none(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    channel: AbstractChannel,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    """A listing reads at most 5,000 letters of a queue (2 here): the page's purge named the queue's total and
    deleted by count, letters the operator was never shown among them, and the page did not say the list was cut."""
    operator = headers["operator"]
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).status_code == 200
    monkeypatch.setattr(dead_letters, "PEEK_MOST", 2)
    for _ in range(3):
        await dead_letter(channel)
    await eventually(lambda: _total(client, operator, DLQ, expected=3))
    listing = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()
    assert (listing["total"], len(listing["items"])) == (3, 2), listing

    shown = {"through": listing["through"], "count": listing["total"], "newest": listing["newest"]}
    refused = await client.post(f"/v1/dead-letters/{DLQ}/purge", params=shown, headers=operator)

    assert refused.status_code == 409 and refused.json()["field"] == "count", refused.text
    assert "none was deleted" in refused.json()["message"], refused.text
    assert listing["listed"] == 2  # what the listing holds, the count its purge names
    try:
        page = html.unescape(await operator_page(client, amqp_url, database_url, keep_signed_in=True))
        assert "Đang hiển thị 2 trên tổng số 3 tin nhắn không xử lý được của hàng đợi này" in page
        assert '<input type="hidden" name="count" value="2">' in page  # the purge names what it shows
        assert ">Xóa các tin nhắn đã liệt kê</button>" in page and "Tôi hiểu 2 tin nhắn này sẽ bị xóa vĩnh viễn" in page
        csrf = page[page.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]
        form = {"queue": DLQ, "confirm": "yes", "csrf": csrf, **shown}
        said = await client.post("/app/operations/dead-letters/purge", data=form)
        assert said.status_code == 409, said.text
        assert "Chưa xóa tin nhắn nào" in html.unescape(said.text), said.text
    finally:
        client.cookies.clear()
    assert (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["total"] == 3
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 3


async def test_the_letters_a_replay_sent_back_and_could_not_remove_are_marked_on_the_page(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    channel: AbstractChannel,
    world: World,
    amqp_url: str,
    database_url: str,
) -> None:
    """A letter marked dead_letter_sent (its copy confirmed, its removal failed) looked like any other: the operator
    could not tell that the next replay only removes it, without sending it again."""
    operator = headers["operator"]
    assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).status_code == 200
    sent, other = await dead_letter(channel), await dead_letter(channel)
    await eventually(lambda: _total(client, operator, DLQ, expected=2))
    items = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()["items"]
    world.sent_back[DLQ] = {item["key"] for item in items if item["event_id"] == sent}
    try:
        listing = (await client.get(f"/v1/dead-letters/{DLQ}", headers=operator)).json()
        assert listing["sent_back"] == 1, listing
        assert {item["event_id"]: item["sent_back"] for item in listing["items"]} == {sent: True, other: False}
        page = html.unescape(await operator_page(client, amqp_url, database_url))
        assert "1 tin nhắn không xử lý được có nhãn “Đã trả về hàng đợi”" in page
        row = page[page.index(f'data-event="{sent}"') :].split("</tr>", 1)[0]
        assert "Đã trả về hàng đợi: lần trả về tiếp theo chỉ xóa tin nhắn này khỏi đây" in row
        unmarked = page[page.index(f'data-event="{other}"') :].split("</tr>", 1)[0]
        assert "data-sent-back" not in unmarked
    finally:
        world.sent_back.pop(DLQ, None)
        assert (await client.post(f"/v1/dead-letters/{DLQ}/purge", headers=operator)).json()["purged"] == 2
