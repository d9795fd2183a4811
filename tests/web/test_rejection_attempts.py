"""Every refused attempt of an event stays visible to the operators, and a replay judges the attempt they choose: a
trial's first refusal of an event over `POST /v1/events` was replaced by a later copy's, so its reason was lost and
the replay judged the later copy. GET /v1/rejections lists each attempt (route, reason, reason_code, received_at),
the operations page shows them with a replay button each, and POST /v1/rejections/{r}/replay takes `attempt`.
Against the real services; the page's part also rendered from its template."""

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.gateway.schemas.operations import RejectionRead
from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in, web_account
from tests.web.operations_render import PAGER, operations_html

FEED = "urn:test:attempts"


def member_event(event_id: str, **data: Any) -> dict[str, Any]:
    """A member.upserted.v1 under `event_id`, its data over a valid member's."""
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": FEED,
        "type": "member.upserted.v1",
        "time": datetime.now(VIETNAM_TZ).isoformat(timespec="seconds"),
        "datacontenttype": "application/json",
        "data": {
            "id": "rac",
            "full_name": "Rác",
            "cell_id": "khong-co",
            "status": "official",
            "role": "member",
            **data,
        },
    }


def listed_rejection(**changes: Any) -> dict[str, Any]:
    """A rejection of two attempts (an id reused over HTTP, then a foreign source over AMQP) as GET /v1/rejections
    lists it, `changes` over its fields."""
    return RejectionRead.model_validate(
        {
            "rejection_id": "rej-1",
            "received_at": "2026-11-20T19:31:00+07:00",
            "event_id": "t29a-doc1",
            "type": "member.upserted.v1",
            "reason": "source belongs to another account",
            "field": "source",
            "status": "open",
            "attempts": [
                {
                    "attempt": 1,
                    "route": "http",
                    "reason": "id already used by another event",
                    "field": "id",
                    "refusal": {"code": "id_reused"},
                    "received_at": "2026-11-20T19:30:00+07:00",
                },
                {
                    "attempt": 2,
                    "route": "amqp",
                    "reason": "source belongs to another account",
                    "field": "source",
                    "received_at": "2026-11-20T19:31:00+07:00",
                },
            ],
        }
        | changes
    ).model_dump()


def test_the_page_lists_each_attempt_with_its_route_and_a_replay_of_it() -> None:
    listed = listed_rejection()
    assert [a["reason_code"] for a in listed["attempts"]] == ["id_reused", None]
    page = operations_html(rejections={"items": [listed], "total": 1}, rejections_pager=PAGER, held_pager=PAGER)
    assert 'data-attempts="2"' in page
    assert 'data-attempt="1" data-route="http"' in page and 'data-attempt="2" data-route="amqp"' in page
    assert "qua API (HTTP)" in page and "qua hàng đợi tin nhắn (AMQP)" in page
    assert 'name="attempt" value="1"' in page and 'name="attempt" value="2"' in page
    assert "19:30 thứ Sáu, ngày 20/11/2026" in page  # the first attempt's own moment


@pytest.mark.e2e
async def test_a_second_copy_refused_keeps_the_first_and_the_chosen_attempt_is_replayed(
    system: RunningSystem,
) -> None:
    integration = await api_token(system, role="integration", unit=None, sub="api-feed-attempts", province_wide=True)
    event_id = f"evt-{uuid.uuid4().hex[:16]}"
    first = member_event(event_id, status="asleep")
    second = member_event(event_id, role="nobody")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        for copy in (first, second):
            sent = await api.post(
                "/v1/events",
                content=httpx.Request("POST", "/", json=copy).content,
                headers={"Authorization": f"Bearer {integration}", "Content-Type": "application/cloudevents+json"},
            )
            assert sent.status_code < 300 and "rejected" in sent.text, sent.text
    await web_account(system, "operator-attempts", "operator", None, None)
    operator = await api_token(system, role="operator", unit=None, sub="api-operator-attempts")
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        listed = (await api.get("/v1/rejections?status=open&limit=200")).json()
        [rejection] = [item for item in listed["items"] if item["event_id"] == event_id]
        fields = [(a["attempt"], a["route"], a["field"]) for a in rejection["attempts"]]
        assert fields == [(1, "http", "data.status"), (2, "http", "data.role")]
        assert rejection["field"] == "data.role"  # the rejection reads as its latest attempt
        missing = await api.post(f"/v1/rejections/{rejection['rejection_id']}/replay", json={"attempt": 9})
        assert missing.status_code == 404
        async with signed_in(system, "operator-attempts") as client:
            page = await client.get("/app/operations?rejections_offset=0")
            assert 'data-attempt="1" data-route="http"' in page.text and "Xét lại lần gửi này" in page.text
            form = {
                "csrf": csrf_of(page.text),
                "rejection_id": rejection["rejection_id"],
                "event_id": event_id,
                "attempt": "1",
            }
            replayed = await client.post("/app/operations/rejections/replay", data=form)
            assert replayed.status_code == 303, replayed.text
        again = (await api.get("/v1/rejections?status=open&limit=200")).json()
        [still] = [item for item in again["items"] if item["event_id"] == event_id]
        # the first copy was judged (and refused again for its own field), not the later one
        assert [(a["route"], a["field"]) for a in still["attempts"][2:]] == [("replay", "data.status")]
        assert still["last_replay_field"] == "data.status"


def test_every_row_names_its_source_and_route_whatever_its_attempts() -> None:
    """A rejection of one attempt said neither its CloudEvents source nor how it came (only a row of several did,
    the route, in its list of attempts): each row says both, in the attempts' words, a batch's as a batch."""
    first = listed_rejection()["attempts"][:1]
    rows = {
        "one-http": listed_rejection(rejection_id="one-http", source=FEED, attempts=first),
        "one-bulk": listed_rejection(rejection_id="one-bulk", source=FEED, attempts=[first[0] | {"route": "bulk"}]),
        "batch": listed_rejection(rejection_id="batch", type="batch", attempts=[first[0] | {"route": "amqp"}]),
        "two": listed_rejection(rejection_id="two", source=FEED),
    }
    listed = {"items": list(rows.values()), "total": len(rows)}
    page = operations_html(rejections=listed, rejections_pager=PAGER, held_pager=PAGER)
    said = {name: page.split(f'name="rejection_id" value="{name}"', 1)[0].rsplit("<tr>", 1)[1] for name in rows}
    assert f'data-source="{FEED}" data-route="http">Nguồn sự kiện: {FEED}, nhận qua API (HTTP)' in said["one-http"]
    assert "nhận qua đợt nạp hàng loạt dữ liệu cũ" in said["one-bulk"]
    batch = 'data-source="" data-route="amqp">Nguồn sự kiện: —, nhận theo lô qua hàng đợi tin nhắn (AMQP)'
    assert batch in said["batch"]
    assert "nhận qua hàng đợi tin nhắn (AMQP)" in said["two"]  # the latest attempt's, as its reason is
    dismissed = operations_html(
        rejections={"items": [rows["one-http"] | {"status": "dismissed"}], "total": 1},
        dismissed_view=True,
        rejections_pager=PAGER,
        held_pager=PAGER,
    )
    assert f"Nguồn sự kiện: {FEED}, nhận qua API (HTTP)" in dismissed


def test_each_attempts_replay_asks_for_the_sender_a_rejection_records_none_of() -> None:
    """h451's sender input ("Tài khoản đã gửi") on the rejection's replay form is on each attempt's too: the same
    replay call, which an attempt's foreign source needs the account named for as well."""
    unnamed = listed_rejection(sender_nameable=True)  # a scoped account's, recorded before senders were kept
    page = operations_html(
        rejections={"items": [unnamed], "total": 1},
        rejections_pager=PAGER,
        held_pager=PAGER,
        errors={"sender-rej-1-attempt-2": "Tài khoản không đúng"},
    )
    for attempt in (1, 2):
        form = page.split(f'name="attempt" value="{attempt}">', 1)[1].split("</form>", 1)[0]
        sender_id = f"sender-rej-1-attempt-{attempt}"
        assert f'<label for="{sender_id}">Tài khoản đã gửi</label>' in form, form
        assert f'<input id="{sender_id}" name="sender"' in form, form
        assert ('aria-invalid="true"' in form) == (attempt == 2), form
    assert '<label for="sender-rej-1">Tài khoản đã gửi</label>' in page  # the rejection's own form still asks
    named = operations_html(
        rejections={"items": [listed_rejection(sender="api-feed")], "total": 1},
        rejections_pager=PAGER,
        held_pager=PAGER,
    )
    assert 'name="sender"' not in rows_of(named)  # the filtered dismissal's own sender is no row's
    nobody = operations_html(  # a feed's over AMQP: no account's sources judged it, no one to name (trial 56)
        rejections={"items": [listed_rejection()], "total": 1}, rejections_pager=PAGER, held_pager=PAGER
    )
    assert 'name="sender"' not in rows_of(nobody)


def rows_of(page: str) -> str:
    """The open rejections' table of the operations page (its rows and their forms)."""
    return page.split('id="open-rejections"', 1)[1].split("</table>", 1)[0]
