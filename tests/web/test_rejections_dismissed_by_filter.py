"""The operations page closes a flood of rejections by a filter, as `shared.ops rejections dismiss` and
`POST /v1/rejections/dismiss` do: an operator trial's 2,850 rejections could be closed on the page only one at a time.
The first sending counts the open rejections that match ("Có N sự kiện bị từ chối khớp bộ lọc", nothing closed), the
confirming form closes exactly those and says matched, dismissed and remaining; only an operator may, an empty filter
is refused naming the code, and each sending is audited as the API's. Against the real services."""

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser

from shared.periods import VIETNAM_TZ
from tests.e2e.test_trial_refusals import cloudevent
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, sign_in, signed_in, web_account
from tests.web.operations_render import operations_html
from tests.web.test_form_labels import forms_of, refusals

ACTION = "/app/operations/rejections/matching/dismiss"
CODE = "source_not_registered"
REASON = "Nguồn chưa đăng ký, gửi nhầm hàng loạt"
INPUTS = ("code", "source", "sender", "received_after", "received_before", "reason")


async def refused_event(system: RunningSystem, token: str, source: str, parent: str) -> str:
    """A cell's event under `source`, which `token`'s account has not registered: rejected, its id."""
    data = {"id": random_id("cell"), "name": "Chi bộ thôn", "kind": "cell", "parent_id": parent}
    event = cloudevent("org.unit.upserted.v1", data, source=source)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = await api.post(
            "/v1/events",
            content=json.dumps(event, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents+json"},
        )
    assert sent.status_code == 200, sent.text
    [result] = sent.json()["results"]
    assert result["refusal"]["code"] == CODE, result
    return str(event["id"])


async def feed_without_sources(system: RunningSystem) -> tuple[str, str]:
    """(token, commune): an integration account of a new commune registered for a source of its own only, whose
    events under any other source are rejected `source_not_registered`."""
    xa = random_id("xa")
    writer = await api_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    root = cloudevent("org.unit.upserted.v1", {"id": xa, "name": "Xã", "kind": "committee", "parent_id": None})
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = await api.post(
            "/v1/events",
            content=json.dumps(root).encode(),
            headers={"Authorization": f"Bearer {writer}", "Content-Type": "application/cloudevents+json"},
        )
        assert sent.json()["results"][0]["outcome"] == "accepted", sent.text
    own = f"urn:test:{random_id('own')}"
    return await api_token(system, role="integration", unit=xa, sub=random_id("feed"), sources=[own]), xa


def filled(token: str, **values: str) -> dict[str, str]:
    """The filter form as the page sends it: every input, `values` over empty ones."""
    return {"csrf": token, **dict.fromkeys(INPUTS, ""), **values}


@pytest.mark.e2e
async def test_an_operator_counts_then_closes_exactly_the_rejections_a_filter_selects(
    system: RunningSystem, province: dict[str, str]
) -> None:
    flood, other = (f"urn:test:{random_id(name)}" for name in ("flood", "other"))
    feed, xa = await feed_without_sources(system)
    flooded = [await refused_event(system, feed, flood, xa) for _ in range(3)]
    kept = await refused_event(system, feed, other, xa)  # the same code, another source: not selected

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-filter"))
    api = httpx.AsyncClient(base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"})

    watched = [*flooded, kept]

    async def statuses() -> dict[str, str]:
        found: dict[str, str] = {}
        for status in ("open", "dismissed"):
            listed = (await api.get("/v1/rejections", params={"status": status, "limit": 200})).json()["items"]
            found |= {item["event_id"]: status for item in listed if item["event_id"] in watched}
        return found

    everything_open = dict.fromkeys([*flooded, kept], "open")
    async with api:
        assert await statuses() == everything_open

        # not an operator: refused, nothing counted or closed
        async with signed_in(system, "secretary") as secretary:
            token = csrf_of((await secretary.get("/app/me")).text)
            refused = await secretary.post(ACTION, data=filled(token, code=CODE, source=flood, reason=REASON))
            assert refused.status_code == 403, refused.status_code
        assert await statuses() == everything_open

        web_sub = random_id("operator-filter")
        await web_account(system, web_sub, "operator", None, None)
        async with signed_in(system, web_sub) as client:
            page = (await client.get("/app/operations")).text
            assert 'id="dismiss-matching"' in page and f'<option value="{CODE}">' in page
            token = csrf_of(page)

            # an empty filter: refused at the code, the reason's absence said at once too
            empty = await client.post(ACTION, data=filled(token))
            assert empty.status_code == 422, empty.status_code
            said = refusals(empty.text)
            assert any(line.startswith("Mã lý do từ chối: hãy chọn một mã") for line in said), said
            assert any(line.startswith("Lý do:") for line in said), said
            assert 'id="code" name="code" aria-invalid="true"' in empty.text
            # a window that ends before it begins, named at its start
            now = datetime.now(VIETNAM_TZ)
            hour_ago = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            later = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
            window = filled(token, source=flood, received_after=later, received_before=hour_ago, reason=REASON)
            backwards = await client.post(ACTION, data=window)
            assert backwards.status_code == 422
            assert "Nhận từ lúc: phải sớm hơn “Nhận trước lúc”." in refusals(backwards.text)
            assert await statuses() == everything_open

            # the first sending counts, closes nothing, and offers to confirm with the filter as counted
            asked = filled(token, code=CODE, source=flood, received_after=hour_ago, reason=REASON)
            counted = await client.post(ACTION, data=asked)
            assert counted.status_code == 200, refusals(counted.text)
            assert "Có 3 sự kiện bị từ chối khớp bộ lọc." in counted.text
            assert await statuses() == everything_open
            [confirm] = [form for form in forms_of(counted.text) if "matched" in dict(form.inputs)]
            sent_again = dict(confirm.inputs)
            pinned = sent_again.pop("counted_at", "")  # when it was counted: the window ends there
            assert sent_again == {**asked, "matched": "3"}, sent_again

            # between the count and the confirmation a new matching rejection arrives (trial 71: it was closed too,
            # "Khớp bộ lọc: 5. Đã đóng: 5.", never shown to the operator): it stays open
            late = await refused_event(system, feed, flood, xa)
            watched.append(late)
            assert await statuses() == {**everything_open, late: "open"}

            # confirmed: exactly the three counted closed, with the reason; the late one and the other source's open
            done = await client.post(confirm.action, data=dict(confirm.inputs))
            assert done.status_code == 200, refusals(done.text)
            assert 'data-matched="3" data-dismissed="3" data-remaining="0"' in done.text
            assert "Khớp bộ lọc: 3. Đã đóng: 3. Còn mở: 0." in done.text
            assert 'id="dismiss-matching-confirm"' not in done.text  # nothing left to go on with
            assert await statuses() == {**dict.fromkeys(flooded, "dismissed"), kept: "open", late: "open"}
            assert set(confirm.hidden) == {"csrf", "matched", "counted_at", *INPUTS}
            shown = f"Đã đếm lúc {datetime.fromisoformat(pinned).astimezone(VIETNAM_TZ):%H:%M:%S}"
            assert shown in counted.text and "(giờ Việt Nam)" in counted.text
            dismissed = (await api.get("/v1/rejections", params={"status": "dismissed", "limit": 200})).json()
            reasons = {item["dismissal_reason"] for item in dismissed["items"] if item["event_id"] in flooded}
            assert reasons == {REASON}

            # sent again, it closes nothing more, and says plainly that the three counted are no longer there
            again = await client.post(confirm.action, data=dict(confirm.inputs))
            assert 'data-matched="0" data-dismissed="0" data-remaining="0"' in again.text
            assert "Chưa đóng sự kiện nào: lúc đếm có 3 sự kiện bị từ chối khớp bộ lọc, nhưng nay có 0" in again.text
            assert await statuses() == {**dict.fromkeys(flooded, "dismissed"), kept: "open", late: "open"}

        # audited as the API's: who, the filter, dry run or not, the counts (written once each answer is sent)
        async def audited() -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]] | None:
            entries = (await api.get("/v1/audit", params={"limit": 200})).json()["items"]
            found = [
                (entry["sub"], entry["status"], entry["detail"]["dry_run"], entry["detail"]["dismissed"])
                for entry in entries
                if entry["path"] == ACTION and (entry.get("detail") or {}).get("filter", {}).get("source") == flood
            ]
            return (entries, found) if len(found) >= 3 else None

        audit, mine = await eventually(audited, timeout=30, interval=0.2)
        # newest first: sent again, confirmed, counted; each the reason and the action as the API's
        assert mine == [(web_sub, 200, False, 0), (web_sub, 200, False, 3), (web_sub, 200, True, 0)], mine
        ours = [entry["detail"] for entry in audit if entry["path"] == ACTION and entry.get("detail")]
        told = {(detail["action"], detail["reason"]) for detail in ours if detail["filter"].get("source") == flood}
        assert told == {("rejections_dismissed", REASON)}, told


def test_a_dismissal_that_leaves_some_open_offers_to_close_them_with_the_same_filter() -> None:
    """meetings' answer says some still match (its calls ran out: dismiss_filtered): the page
    says so and its confirming form carries the same filter and reason, with the count still open."""
    values = {"code": CODE, "source": "urn:test:flood", "reason": REASON}
    done = {"matched": 2850, "dismissed": 2000, "remaining": 850, "dry_run": False, "filter": {}}
    page = operations_html(rejections={"items": [], "total": 0}, matching={"values": values, "done": done})
    assert "Khớp bộ lọc: 2.850. Đã đóng: 2.000. Còn mở: 850." in page
    assert "Vẫn còn sự kiện bị từ chối khớp bộ lọc chưa được đóng" in page
    [confirm] = [form for form in forms_of(page) if "matched" in dict(form.inputs)]
    assert dict(confirm.inputs) == {
        "csrf": "t",
        "sender": "",
        "received_after": "",
        "received_before": "",
        **values,
        "matched": "850",
    }
    assert "Đóng tiếp 850 sự kiện bị từ chối còn mở" in page


def test_the_code_list_offers_the_rejections_stored_without_a_code() -> None:
    """Most rejections carry no refusal code (schema and envelope refusals, whole bodies, dropped held events: an
    operator trial's fifth finding); the page offers them by `none`, as `--code none` and the API pick them, in
    Vietnamese, so its dismissal can select them by code as well as by time."""
    page = operations_html(rejections={"items": [], "total": 0})
    assert '<option value="none"' in page, "no choice for rejections stored without a refusal code"
    assert "Không có mã lý do (sự kiện sai lược đồ hoặc sai phần bao gói" in page


@pytest.mark.e2e
async def test_in_chromium_the_filter_is_counted_then_confirmed(
    browser: Browser, system: RunningSystem, province: dict[str, str]
) -> None:
    """The form as a browser sends it: the code chosen in its list, a `datetime-local` start, the reason typed; the
    count's confirming button, then the counts."""
    feed, xa = await feed_without_sources(system)
    flood = f"urn:test:{random_id('flood-browser')}"
    for _ in range(2):
        await refused_event(system, feed, flood, xa)
    operator = random_id("operator-browser")
    await web_account(system, operator, "operator", None, None)
    page = await sign_in(browser, system, operator)
    await page.goto(system.gateway_url + "/app/operations#dismiss-matching")
    await page.locator("#dismiss-matching summary").click()
    await page.get_by_label("Mã lý do từ chối").select_option(CODE)
    await page.get_by_label("Nguồn sự kiện").fill(flood)
    start = (datetime.now(VIETNAM_TZ) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    await page.get_by_label("Nhận từ lúc").fill(start)
    await page.locator("#reason").fill(REASON)
    await page.get_by_role("button", name="Đếm số sự kiện bị từ chối khớp bộ lọc").click()
    await page.get_by_text("Có 2 sự kiện bị từ chối khớp bộ lọc.").wait_for()
    await page.get_by_role("button", name="Xác nhận đóng 2 sự kiện bị từ chối này").click()
    await page.get_by_text("Khớp bộ lọc: 2. Đã đóng: 2. Còn mở: 0.").wait_for()
    assert await page.locator("#dismiss-matching-confirm").count() == 0
