"""The operator's page in Debian's Chromium, on the running system: a message the real consumers refused is listed
with why and sent back (consumed, and refused again), then deleted; an outbox row the broker refuses is parked,
sent again and dropped with a reason; a held event is judged again and dropped into a rejection. Other people get
no such page; forms need their CSRF token and a confirmation to delete."""

import html
import json
import re
import uuid

import aio_pika
import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from shared.config import broker_user_of
from shared.outbox import notify_channel
from shared.topology import EVENTS_EXCHANGE, INGEST_EXCHANGE
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, feed, screenshot, sign_in, signed_in, web_account

pytestmark = pytest.mark.e2e

OPERATOR = "van-hanh-thu"
DLQ = "evaluation.facts.dlq"


@pytest.fixture(scope="module")
async def operator(system: RunningSystem) -> str:
    """The operator's web sign-in (operators belong to no unit)."""
    await web_account(system, OPERATOR, "operator", None, None)
    return OPERATOR


async def refused_by_consumers(amqp_url: str, count: int = 1) -> list[str]:
    """`count` facts that are not CloudEvents, published where evaluation and notifications read: both refuse them
    to their dead letters. Their ids."""
    event_ids = [f"evt-bad-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE, ensure=False)
        for event_id in event_ids:
            body = {"id": event_id, "type": "meeting.cancelled.v1", "data": {"meeting_id": "x"}}
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(body).encode(),
                    message_id=event_id,
                    content_type="application/json",
                    user_id=broker_user_of(amqp_url),
                ),
                routing_key="meeting.cancelled.v1",
            )
    finally:
        await connection.close()
    return event_ids


async def purge_dead_letters(amqp_url: str) -> None:
    """Empty evaluation's dead letters: the page lists a queue's first 20, oldest first, and the vhost is the test
    session's (a package-scoped fixture of the root conftest), so 25 letters tests/gateway left there hid this one."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await (await channel.get_queue(DLQ, ensure=False)).purge()
    finally:
        await connection.close()


async def held_member(amqp_url: str) -> str:
    """A member of a cell nobody has heard of, sent on chibo.ingest: meetings holds it. Its id."""
    event_id = f"evt-held-{uuid.uuid4().hex[:10]}"
    event = {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:test:operator-page",
        "type": "member.upserted.v1",
        "time": "2026-11-05T08:00:00+07:00",
        "datacontenttype": "application/json",
        "data": {
            "id": f"mem-{uuid.uuid4().hex[:8]}",
            "full_name": "Trần Thị Chờ",
            "cell_id": f"cell-{uuid.uuid4().hex[:8]}",
            "status": "official",
            "role": "member",
        },
    }
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(json.dumps(event).encode(), content_type="application/cloudevents+json"),
            routing_key="member.upserted.v1",
        )
    finally:
        await connection.close()
    return event_id


async def parked_rows(system: RunningSystem, count: int = 1) -> list[str]:
    """`count` outbox rows of evaluation naming an exchange that does not exist: its relay parks them. Their event
    ids."""
    event_ids = [f"evt-parked-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    payloads = [
        (
            event_id,
            json.dumps(
                {
                    "specversion": "1.0",
                    "id": event_id,
                    "source": "urn:chibo:evaluation",
                    "type": "score.meeting.updated.v1",
                }
            ),
        )
        for event_id in event_ids
    ]
    conn = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:
        await conn.executemany(
            "INSERT INTO evaluation.outbox (event_id, type, exchange, routing_key, payload)"
            " VALUES ($1, 'score.meeting.updated.v1', 'chibo.missing-exchange', 'score.meeting.updated.v1', $2::jsonb)",
            payloads,
        )
        await conn.execute("SELECT pg_notify($1, '')", notify_channel("evaluation"))
    finally:
        await conn.close()
    return event_ids


async def reload_until(page: Page, selector: str, *, present: bool = True, timeout: float = 120) -> None:
    """Reload the page until `selector` is (or is no longer) on it."""

    async def seen() -> bool:
        await page.goto(page.url.split("?")[0].split("#")[0])
        return (await page.locator(selector).count() > 0) is present

    await eventually(seen, timeout=timeout, interval=1)


async def test_an_operator_works_dead_letters_parked_rows_and_held_events_from_the_page(
    browser: Browser, system: RunningSystem, amqp_url: str, operator: str
) -> None:
    await purge_dead_letters(amqp_url)  # letters another package left in the vhost would push ours off page one
    [dead_id] = await refused_by_consumers(amqp_url)
    held_id = await held_member(amqp_url)
    [parked_id] = await parked_rows(system)

    page = await sign_in(browser, system, operator)
    await page.wait_for_url("**/app/operations")
    assert await page.get_attribute("html", "lang") == "vi"
    await reload_until(page, f'#dead-letters .dead-queue[data-queue="{DLQ}"] tr[data-event="{dead_id}"]')
    await reload_until(page, f'#held tr[data-event="{held_id}"]')
    # what it waits for, said in Vietnamese with the field, the technical reason kept on a detail line
    waiting = await page.locator(f'#held tr[data-event="{held_id}"]').inner_text()
    assert "Chi bộ: đang chờ thông tin của đơn vị cell-" in waiting and "Chi tiết kỹ thuật" in waiting
    assert "is unknown" in waiting
    await reload_until(page, '#parked [data-service="evaluation"] tr[data-row]')
    assert await page.locator('[data-figure="dead_letters"]').inner_text() != "0"
    await expect(page.locator("h1 [data-status]")).to_have_text("Cần chú ý")
    row = page.locator(f'.dead-queue[data-queue="{DLQ}"] tr[data-event="{dead_id}"]')
    assert "Bị bên nhận từ chối" in await row.inner_text()
    # the cause as the consumer wrote it, in English, with a short Vietnamese gloss beside it
    assert "specversion" in await row.locator("[data-cause]").inner_text()
    assert (await row.locator("[data-cause-gloss]").inner_text()).startswith(
        "Không đọc được sự kiện. Thiếu phiên bản CloudEvents (specversion): đây là trường bắt buộc."
    )
    facts = page.locator('#services li[data-queue="evaluation.facts"]')
    assert await facts.locator("[data-consumers]").inner_text() == "1"
    await screenshot(page, "operations")
    await page.set_viewport_size({"width": 390, "height": 844})  # a phone: the tables stack, nothing scrolls sideways
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # sent back: evaluation takes it again, refuses it again, and it is back, marked as replayed once
    await row.get_by_role("button", name=f"Trả {dead_id} về hàng đợi").click()
    await page.wait_for_url("**notice=replayed**")
    assert "Đã trả 1 tin nhắn về hàng đợi ban đầu." in await page.locator("#notice").inner_text()

    token = await api_token(system, role="operator", unit=None, sub="api-operator-page")

    async def refused_again() -> bool:
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
            response = await client.get(f"/v1/dead-letters/{DLQ}", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return any(
            item["event_id"] == dead_id and item["headers"].get("x-chibo-replayed") == 1
            for item in response.json()["items"]
        )

    await eventually(refused_again, timeout=120, interval=1)

    # deleting needs the confirmation box; then the queue is empty
    await page.goto(system.gateway_url + "/app/operations")
    queue = page.locator(f'.dead-queue[data-queue="{DLQ}"]')
    await queue.get_by_role(
        "button", name=f"Xóa hết tin nhắn trong {DLQ}"
    ).click()  # the browser asks for the box first
    assert "notice=purged" not in page.url
    await queue.get_by_label("Tôi hiểu").check()
    await queue.get_by_role("button", name=f"Xóa hết tin nhắn trong {DLQ}").click()
    await page.wait_for_url("**notice=purged**")
    assert await page.locator(f'.dead-queue[data-queue="{DLQ}"]').count() == 0

    # the parked row: sent again (the exchange is still missing, so parked again), then dropped with a reason
    parked = page.locator(f'#parked [data-service="evaluation"] tr:has(code:text-is("{parked_id}"))')
    await parked.get_by_role("button", name=f"Gửi lại {parked_id}").click()
    await page.wait_for_url("**notice=rows_replayed**")
    await reload_until(page, f'#parked tr:has(code:text-is("{parked_id}"))')
    parked = page.locator(f'#parked [data-service="evaluation"] tr:has(code:text-is("{parked_id}"))')
    await parked.get_by_label("Lý do").fill("Sàn trao đổi đã bỏ, sự kiện không cần gửi")
    await parked.get_by_role("button", name=f"Xóa {parked_id}").click()
    await page.wait_for_url("**notice=row_dropped**")
    assert await page.locator(f'#parked tr:has(code:text-is("{parked_id}"))').count() == 0

    # the held event, by keyboard: judged again (still waiting), then dropped into a rejection
    held = page.locator(f'#held tr[data-event="{held_id}"]')
    await held.get_by_role("button", name=f"Xét lại {held_id}").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**notice=held_retried**")
    assert "vẫn đang chờ" in await page.locator("#notice").inner_text()
    held = page.locator(f'#held tr[data-event="{held_id}"]')
    await held.get_by_label("Lý do").fill("Chi bộ không tồn tại")
    await held.get_by_label("Lý do").press("Enter")
    await page.wait_for_url("**notice=held_dropped**")
    assert await page.locator(f'#held tr[data-event="{held_id}"]').count() == 0
    rejections = await page.locator("#rejections").inner_text()
    assert held_id in rejections
    assert "Người vận hành đã thôi giữ sự kiện này (lý do: Chi bộ không tồn tại)." in rejections
    assert "Chi tiết kỹ thuật: dropped by an operator" in rejections
    await page.context.close()


async def test_the_page_is_the_operators_alone_and_its_forms_need_their_token_and_a_confirmation(
    system: RunningSystem, operator: str, province: dict[str, str]
) -> None:
    await web_account(system, "thanh-vien-thu", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv07")
    async with signed_in(system, "thanh-vien-thu") as member:
        refused = await member.get("/app/operations")  # a 403 page saying who may, not a page not found
        assert refused.status_code == 403 and "dành cho cán bộ vận hành hệ thống" in refused.text
    async with signed_in(system, operator) as client:
        page = await client.get("/app/operations")
        assert page.status_code == 200 and "Vận hành" in page.text
        no_token = await client.post("/app/operations/dead-letters/purge", data={"queue": DLQ, "confirm": "yes"})
        assert no_token.status_code == 403
        unconfirmed = await client.post(
            "/app/operations/dead-letters/purge", data={"queue": DLQ, "csrf": csrf_of(page.text)}
        )
        assert unconfirmed.status_code == 422 and "Hãy đánh dấu ô xác nhận trước khi xóa." in unconfirmed.text
        unknown = await client.post(
            "/app/operations/dead-letters/replay", data={"queue": "gateway.nothing.dlq", "csrf": csrf_of(page.text)}
        )
        assert (
            unknown.status_code == 404
            and "Không có hàng đợi tin nhắn không xử lý được gateway.nothing.dlq." in unknown.text
        )
        # the status line's count comes from the address: only a whole number is shown, as people read it
        made_up = await client.get("/app/operations?notice=purged&count=mọi%20thứ")
        assert "Đã xóa 0 tin nhắn không xử lý được" in made_up.text and "mọi thứ" not in made_up.text
        assert (
            "Đã xóa 2.032 tin nhắn không xử lý được"
            in (await client.get("/app/operations?notice=purged&count=2032")).text
        )
        # a drop reason over its limit is told so (not "please fill in")
        too_long = await client.post(
            "/app/operations/held/drop",
            data={"source": "urn:test:x", "event_id": "x-1", "reason": "a" * 600, "csrf": csrf_of(page.text)},
        )
        assert too_long.status_code == 422 and "tối đa 500 ký tự (đã nhập 600)" in too_long.text, too_long.text[-3000:]
        # an action taken on later pages comes back to them: its form posts with the lists' positions
        where = "?held_offset=20&rejections_offset=40"
        later = await client.get(f"/app/operations{where}")
        purged = await client.post(
            f"/app/operations/dead-letters/purge{where}",
            data={"queue": DLQ, "confirm": "yes", "csrf": csrf_of(later.text)},
        )
        assert purged.status_code == 303
        location = purged.headers["location"]
        assert "held_offset=20" in location and "rejections_offset=40" in location and "notice=purged" in location
        # a parked row's form with an id that names no row is refused, never read as "all of the service's rows":
        # the operations page again naming the field (it was the app's 404 page, which speaks of a unit)
        for bad in ("-1", "abc", "", "1" * 40, "99999999999999999999", "0"):
            for action in ("replay", "drop"):
                answer = await client.post(
                    f"/app/operations/parked/{action}",
                    data={"service": "meetings", "id": bad, "reason": "thử", "csrf": csrf_of(page.text)},
                )
                assert answer.status_code == 422, (action, bad, answer.status_code)
                assert "Số thứ tự sự kiện chờ gửi" in answer.text and "không hợp lệ" in answer.text, (action, bad)
                assert "Không tìm thấy trang" not in answer.text and "Vận hành" in answer.text
        token = csrf_of(page.text)
        for path, data, status, said in (
            ("parked/replay", {"service": "nosuch", "id": "1"}, 422, "Không có dịch vụ nosuch"),
            ("parked/drop", {"service": "nosuch", "id": "1", "reason": "thử"}, 422, "Không có dịch vụ nosuch"),
            ("parked/replay", {"service": "meetings", "id": "9000000000000000000"}, 404, "Không có sự kiện chờ gửi"),
            (
                "parked/drop",
                {"service": "meetings", "id": "9000000000000000000", "reason": "thử"},
                404,
                "Không có sự kiện chờ gửi",
            ),
            ("held/drop", {"source": "urn:test:x", "event_id": "khong-co", "reason": "thử"}, 404, "mang mã khong-co"),
            ("rejections/replay", {"rejection_id": "khong-co"}, 404, "Không có sự kiện bị từ chối khong-co"),
            ("rejections/dismiss", {"rejection_id": "khong-co", "reason": "thử"}, 404, "bị từ chối khong-co"),
            ("rejections/replay", {}, 422, "Biểu mẫu không nêu sự kiện bị từ chối nào."),
            (
                "dead-letters/purge",
                {"queue": "nosuch.dlq", "confirm": "yes"},
                404,
                "Không có hàng đợi tin nhắn không xử lý được nosuch.dlq",
            ),
            (
                "dead-letters/purge",
                {"queue": DLQ, "confirm": "yes", "through": "2026-12-05T08:00:00+00:00", "newest": "khong-phai"},
                422,
                "Các tin nhắn không xử lý được đã liệt kê trong giây cuối cùng: giá trị này do trang tự điền",
            ),
            ("dead-letters/replay", {"queue": DLQ, "event_id": "khong-co"}, 404, "mang mã khong-co"),
            # two selectors: the API used `key` alone and dropped the other silently; the page refuses both named
            (
                "dead-letters/replay",
                {"queue": DLQ, "event_id": "khong-co", "key": "a"},
                422,
                "Biểu mẫu nêu tin nhắn không xử lý được theo nhiều cách (event_id, key)",
            ),
            # the consumer queue's own name, as the API's listing shows it beside its .dlq, reaches the same letters
            (
                "dead-letters/replay",
                {"queue": DLQ.removesuffix(".dlq"), "event_id": "khong-co"},
                404,
                "mang mã khong-co",
            ),
        ):
            answer = await client.post(f"/app/operations/{path}", data={**data, "csrf": token})
            assert answer.status_code == status and said in answer.text, (path, data, answer.status_code)
            assert "Không tìm thấy trang" not in answer.text and "thuộc đơn vị" not in answer.text, path


def feed_event(event_id: str, event_type: str, data: dict) -> dict:
    """A structured CloudEvent from a test feed, sent on 20 November."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "urn:test:operator-paging",
        "type": event_type,
        "time": "2026-11-20T08:00:00+07:00",
        "datacontenttype": "application/json",
        "data": data,
    }


async def feed_all(system: RunningSystem, sub: str, events: list[dict], *, outcome: str) -> None:
    """Send the events as one batch through the API as an integration account, under a source of its own (a source
    is one account's alone); each must come to `outcome`."""
    source = f"urn:test:{sub}"
    events = [{**event, "source": source} for event in events]
    # the account's scope: a committee of its own, fed first (issue-token refuses a unit the system does not have)
    scope = f"xa-{sub}-{uuid.uuid4().hex[:8]}"
    root = {"id": scope, "name": "Đảng ủy xã Thử", "kind": "committee", "parent_id": None}
    unit = {**feed_event(f"evt-{scope}", "org.unit.upserted.v1", root), "source": f"{source}-root"}
    await feed(system, [unit], sub=f"{sub}-root")
    token = await api_token(system, role="integration", unit=scope, sub=sub, sources=[source])
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
        sent = await api.post(
            "/v1/events",
            content=json.dumps(events),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert sent.status_code < 300, sent.text
    assert all(result["outcome"] == outcome for result in sent.json()["results"]), sent.text


async def test_open_rejections_page_on_as_the_counter_says_with_every_field_named_in_vietnamese(
    system: RunningSystem, operator: str
) -> None:
    """The tester's case: more open rejections than a page (the counter said 44, about 20 were listed, no way on),
    and the place and reason fields shown raw as data.location and data.reason."""
    tag = uuid.uuid4().hex[:8]

    def bad(index: int) -> dict:
        moved = {"meeting_id": f"m-{tag}-{index}", "starts_at": "2026-12-04T19:30:00+07:00", "location": "x" * 300}
        cancelled = {"meeting_id": f"m-{tag}-{index}", "reason": ""}
        event_type, data = ("meeting.rescheduled.v1", moved) if index % 2 else ("meeting.cancelled.v1", cancelled)
        return feed_event(f"evt-page-{tag}-{index}", event_type, data)

    await feed_all(system, "ops-paging-feed", [bad(index) for index in range(45)], outcome="rejected")
    async with signed_in(system, operator) as client:
        first = (await client.get("/app/operations")).text
        section = first[first.index('id="rejections"') :]
        counter = int(first.split('data-figure="rejections">', 1)[1].split("<", 1)[0])
        assert counter >= 45 and f'data-total="{counter}"' in section
        assert section.count("<tr><td") == 20 and 'data-shown="1-20"' in section
        assert f"Đang hiển thị 1–20 trong tổng số {counter} sự kiện bị từ chối chưa xử lý" in section
        assert 'href="/app/operations?rejections_offset=20#rejections"' in section and "Xem thêm" in section
        assert "Địa điểm:" in section and "Lý do:" in section
        assert '<td data-label="Trường">“data.' not in section

        second = (await client.get("/app/operations?rejections_offset=20")).text
        rows = second[second.index('id="rejections"') :]
        assert 'data-shown="21-40"' in rows and 'href="/app/operations#rejections"' in rows and "Mới hơn" in rows
        assert section.split("<tbody>")[1].split("</tbody>")[0] != rows.split("<tbody>")[1].split("</tbody>")[0]


async def test_held_events_page_on_as_the_counter_says(system: RunningSystem, operator: str) -> None:
    """The tester's case for the other list: only the first 20 held events were shown, with no way to the rest."""
    tag = uuid.uuid4().hex[:8]

    def waiting(index: int) -> dict:
        data = {
            "meeting_id": f"m-held-{tag}-{index}",
            "cell_id": f"cb-not-yet-{tag}",
            "kind": "regular",
            "starts_at": "2026-12-04T19:30:00+07:00",
            "location": "Nhà văn hóa",
            "agenda": ["Sinh hoạt thường kỳ"],
        }
        return feed_event(f"evt-held-{tag}-{index}", "meeting.scheduled.v1", data)

    await feed_all(system, "ops-held-paging-feed", [waiting(index) for index in range(25)], outcome="held")
    async with signed_in(system, operator) as client:
        first = (await client.get("/app/operations")).text
        section = first[first.index('id="held"') : first.index('id="rejections"')]
        counter = int(first.split('data-figure="held">', 1)[1].split("<", 1)[0])
        assert counter >= 25 and f'data-total="{counter}"' in section
        assert section.count("<tr data-event=") == 20 and 'data-shown="1-20"' in section
        assert f"Đang hiển thị 1–20 trong tổng số {counter} sự kiện tạm giữ." in section
        assert 'href="/app/operations?held_offset=20#held"' in section and "Xem thêm" in section

        second = (await client.get("/app/operations?held_offset=20")).text
        rows = second[second.index('id="held"') : second.index('id="rejections"')]
        assert 'data-shown="21-' in rows and 'href="/app/operations#held"' in rows and "Trang trước" in rows
        shown_first = set(re.findall(r'<tr data-event="([^"]+)"', section))
        shown_second = set(re.findall(r'<tr data-event="([^"]+)"', rows))
        assert shown_second and not shown_first & shown_second
        # past the end: said so, with the way back
        beyond = (await client.get("/app/operations?held_offset=100000")).text
        assert "Về trang đầu" in beyond[beyond.index('id="held"') : beyond.index('id="rejections"')]


async def test_a_list_position_that_is_no_whole_number_is_a_400_page_naming_it_and_a_huge_one_is_past_the_end(
    system: RunningSystem, operator: str, province: dict[str, str]
) -> None:
    """The tester's case: `?held_offset=-5`, `=abc` or `=99999999` showed the first page without a word."""
    async with signed_in(system, operator) as client:
        page = await client.get("/app/operations")
        for value in ("-5", "abc", "2.5"):
            refused = await client.get(f"/app/operations?rejections_offset=20&held_offset={value}")
            assert refused.status_code == 400, value
            assert "<h1>Vị trí danh sách không hợp lệ</h1>" in refused.text
            assert (
                f"“{value}” không phải là một vị trí trong danh sách sự kiện tạm giữ"
                " (trên địa chỉ của trang): vui lòng ghi một số nguyên từ 0 trở lên, ví dụ 20."
            ) in refused.text
            assert '<a href="/app/operations#held">Về trang đầu</a>' in refused.text
        dead = await client.get(f"/app/operations?dead_letters_offset.{DLQ}=-20")
        assert (
            dead.status_code == 400
            and f"danh sách tin nhắn không xử lý được của {DLQ} (trên địa chỉ của trang)" in dead.text
        )
        # a form posted with a made-up position is refused before it acts (not done, then an error page)
        replay = await client.post(
            "/app/operations/dead-letters/replay?parked_offset.evaluation=x",
            data={"queue": DLQ, "event_id": "evt-none", "csrf": csrf_of(page.text)},
        )
        assert replay.status_code == 400 and "sự kiện chờ gửi bị gác lại của dịch vụ Chấm điểm" in replay.text
        # someone else's page first: a made-up position is no way around the role
        await web_account(system, "thanh-vien-vi-tri", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv07")
        async with signed_in(system, "thanh-vien-vi-tri") as member:
            assert (await member.get("/app/operations?held_offset=-5")).status_code == 403

        # a whole number past any list: the list says it is past the end, with the way back (not the first page)
        await feed_all(
            system,
            "ops-past-the-end-feed",
            [feed_event(f"evt-past-{uuid.uuid4().hex[:8]}", "meeting.cancelled.v1", {"meeting_id": "x", "reason": ""})],
            outcome="rejected",
        )
        beyond = await client.get("/app/operations?rejections_offset=99999999")
        assert beyond.status_code == 200
        rejections = beyond.text[beyond.text.index('id="rejections"') :]
        assert "Trang này đã vượt quá cuối danh sách." in rejections and "<tbody>" not in rejections
        assert '<a href="/app/operations#rejections">Về các sự kiện bị từ chối mới nhất</a>' in rejections


def part(page: str, start: str, end: str) -> str:
    """The page's text from `start` to the next `end`."""
    begin = page.index(start)
    return page[begin : page.index(end, begin)]


async def walk(client: httpx.AsyncClient, start: str, end: str, rows: str) -> tuple[int, list[list[str]]]:
    """One list of the operator's page followed from its first page by its "see more" links: the count it shows in
    its heading (`... — N`, before `</h3>`) and the ids of `rows` (a pattern) on each page."""
    address, pages, counts = "/app/operations", [], set()
    while address:
        section = part((await client.get(address)).text, start, end)
        heading = re.search(r" — (\d+)(?: [^<]*)?</h3>", section)
        assert heading, section
        counts.add(int(heading[1]))
        pages.append(re.findall(rows, section))
        following = re.search(r'rel="next" href="([^"]+)"', section)
        address = html.unescape(following[1]) if following else ""
    [count] = counts
    return count, pages


async def test_dead_letters_and_parked_rows_page_on_as_their_counters_say(
    system: RunningSystem, amqp_url: str, operator: str
) -> None:
    """The tester's case for the last two lists: only the first 20 dead letters of a queue and the first 20 parked
    rows of a service were shown, with no way to the rest. Each pages on by its own parameter, keeping the others'."""
    dead = set(await refused_by_consumers(amqp_url, 25))
    parked = set(await parked_rows(system, 25))
    token = await api_token(system, role="operator", unit=None, sub="api-operator-paging")

    async def arrived() -> bool:
        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as api:
            letters = (await api.get(f"/v1/dead-letters/{DLQ}?limit=200")).json().get("items", [])
            rows = (await api.get("/v1/outbox/evaluation/parked?limit=200")).json()["items"]
        return dead <= {item["event_id"] for item in letters} and parked <= {row["event_id"] for row in rows}

    await eventually(arrived, timeout=120, interval=1)
    dead_parameter, parked_parameter = f"dead_letters_offset.{DLQ}", "parked_offset.evaluation"
    lists = {
        "dead": (f'id="dead-letters-{DLQ}"', 'class="actions"', r'<tr data-event="([^"]+)"', dead, dead_parameter),
        "parked": (
            'id="parked-evaluation"',
            'class="primary"',
            r'<tr data-row="\d+">\s*<td[^>]*><code>([^<]+)</code>',
            parked,
            parked_parameter,
        ),
    }
    summaries = {
        "dead": f"tin nhắn không xử lý được của {DLQ}, cũ nhất trước.",
        "parked": "sự kiện chờ gửi bị gác lại của dịch vụ Chấm điểm, cũ nhất trước.",
    }
    counts: dict[str, int] = {}
    async with signed_in(system, operator) as client:
        first = (await client.get("/app/operations")).text
        for name, (start, end, rows, ours, parameter) in lists.items():
            anchor = start[len('id="') : -1]
            count, pages = await walk(client, start, end, rows)
            counts[name] = count
            assert count >= 25 and sum(len(page) for page in pages) == count, (name, count, pages)
            shown = [row for page in pages for row in page]
            assert len(set(shown)) == count and ours <= set(shown), name  # each once, ours among them

            section = part(first, start, end)
            assert len(pages[0]) == 20 and 'data-shown="1-20"' in section and f'data-total="{count}"' in section
            assert f"Đang hiển thị 1–20 trong tổng số {count} {summaries[name]}" in section
            assert f'href="/app/operations?{parameter}=20#{anchor}"' in section and "Xem thêm" in section
            if name == "dead":  # each row's button sends back that row (its key), not every copy of its event id
                assert section.count('<input type="hidden" name="key" value="') == len(pages[0])

            second = part((await client.get(f"/app/operations?{parameter}=20")).text, start, end)
            last = min(count, 40)
            assert len(pages[1]) == last - 20 and f'data-shown="21-{last}"' in second  # the remaining 5 of 25
            assert f'href="/app/operations#{anchor}"' in second and "Trang trước" in second

            beyond = part((await client.get(f"/app/operations?{parameter}=100000")).text, start, end)
            assert "Trang này đã vượt quá cuối danh sách." in beyond and "<tbody>" not in beyond
            assert f'<a href="/app/operations#{anchor}">Về trang đầu</a>' in beyond

        # the counters above the lists say as much
        services = part(first, 'id="services"', "</table>")
        assert f"{counts['dead']} tin nhắn không xử lý được trong {DLQ}" in services
        assert f"{counts['parked']} sự kiện chờ gửi bị gác lại" in part(services, 'data-service="evaluation"', "</tr>")
        assert int(first.split('data-figure="parked">', 1)[1].split("<", 1)[0]) >= counts["parked"]

        # one list moves, the others stay where they are (and keep the moved one's place in their links)
        both = (await client.get(f"/app/operations?{dead_parameter}=20&held_offset=20")).text
        dead_part, parked_part = part(both, *lists["dead"][:2]), part(both, *lists["parked"][:2])
        assert 'data-shown="21-' in dead_part and 'data-shown="1-20"' in parked_part
        kept = html.escape(f"/app/operations?held_offset=20&{dead_parameter}=20&{parked_parameter}=20")
        assert f'href="{kept}#parked-evaluation"' in parked_part
        back = html.escape(f"/app/operations?held_offset=20#dead-letters-{DLQ}")
        assert f'href="{back}"' in dead_part
        # and an action from there comes back there: the forms post with every list's position
        posted_from = html.escape(f"?held_offset=20&{dead_parameter}=20")
        assert f'action="/app/operations/parked/drop{posted_from}"' in parked_part
        assert f'action="/app/operations/dead-letters/replay{posted_from}"' in dead_part
