"""The operators see and name a rejection's sending account. A rejection stored before meetings kept senders (0034)
could be replayed only by `POST /v1/rejections/{id}/replay {"sender": …}`: the operations page had no way to name
the account, and neither the API's list nor the page showed the account a rejection records. The list shows it
(`sender`, "Tài khoản gửi"), the page's replay form of a rejection without one asks for it ("Tài khoản đã gửi"),
and a wrong account is refused naming the field: the one recorded is named, the holders of a source never are.
Against the real services."""

import json
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.seed_demo import publish, publisher
from tests.e2e.test_trial_refusals import cloudevent
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in, web_account

pytestmark = pytest.mark.e2e


async def send(system: RunningSystem, token: str, event: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/events with one event as `token`'s account; its result."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        sent = await api.post(
            "/v1/events",
            content=json.dumps(event, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents+json"},
        )
    assert sent.status_code == 200, sent.text
    [result] = sent.json()["results"]
    return dict(result)


def row_of(page: str, event_id: str) -> str:
    """The page's table row of the rejection of `event_id`."""
    assert f"<code>{event_id}</code>" in page, event_id
    return page.split(f"<code>{event_id}</code>", 1)[1].split("</tr>", 1)[0]


async def test_an_operator_sees_and_names_the_sending_account_on_the_page(system: RunningSystem) -> None:
    xa = random_id("xa")
    province = await api_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    root = cloudevent("org.unit.upserted.v1", {"id": xa, "name": "Xã", "kind": "committee", "parent_id": None})
    assert (await send(system, province, root))["outcome"] == "accepted"
    a_sub, b_sub = random_id("memberdb"), random_id("handbook")
    a_source, b_source, later = (f"urn:test:{random_id(name)}" for name in ("memberdb", "handbook", "later"))
    a = await api_token(system, role="integration", unit=xa, sub=a_sub, sources=[a_source])
    b = await api_token(system, role="integration", unit=xa, sub=b_sub, sources=[b_source])

    def cell(source: str) -> dict[str, Any]:
        data = {"id": random_id("cell"), "name": "Chi bộ thôn", "kind": "cell", "parent_id": xa}
        return cloudevent("org.unit.upserted.v1", data, source=source)

    stolen, early = cell(b_source), cell(later)  # A's event under B's source; B's under one registered to nobody
    for token, event in ((a, stolen), (b, early)):
        refused = await send(system, token, event)
        assert refused["refusal"]["code"] == "source_not_registered", refused
    database = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:  # B's refusal as meetings stored it before 0034: no sender
        await database.execute("UPDATE meetings.rejection SET sender = NULL WHERE event_id = $1", early["id"])
        await database.execute(
            "UPDATE meetings.rejection_attempt SET sender = NULL WHERE rejection_id IN"
            " (SELECT rejection_id FROM meetings.rejection WHERE event_id = $1)",
            early["id"],
        )
    finally:
        await database.close()
    await api_token(system, role="integration", unit=xa, sub=b_sub, sources=[b_source, later])  # B holds it now

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-sender"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        listed = (await api.get("/v1/rejections", params={"status": "open", "limit": 200})).json()["items"]
        found = {item["event_id"]: item for item in listed if item["event_id"] in (stolen["id"], early["id"])}
        assert (found[stolen["id"]]["sender"], found[early["id"]]["sender"]) == (a_sub, None), found
        recorded, unrecorded = found[stolen["id"]]["rejection_id"], found[early["id"]]["rejection_id"]

        web_sub = random_id("operator-sender")
        await web_account(system, web_sub, "operator", None, None)
        async with signed_in(system, web_sub) as client:
            page = (await client.get("/app/operations")).text
            shown = row_of(page, stolen["id"])
            assert f'data-sender="{a_sub}"' in shown and f"Tài khoản gửi: {a_sub}" in shown, shown
            assert 'name="sender"' not in shown  # replayed as the account it records: nothing to name
            asked = row_of(page, early["id"])
            assert "data-sender=" not in asked
            assert f'<label for="sender-{unrecorded}">Tài khoản đã gửi</label>' in asked, asked
            assert f'<input id="sender-{unrecorded}" name="sender"' in asked, asked

            def form(rejection_id: str, event: dict[str, Any], sender: str) -> dict[str, str]:
                return {
                    "csrf": csrf_of(page),
                    "rejection_id": rejection_id,
                    "event_id": event["id"],
                    "sender": sender,
                }

            # naming another account than the one recorded: refused, the recorded one named
            renamed = await client.post("/app/operations/rejections/replay", data=form(recorded, stolen, b_sub))
            assert renamed.status_code == 422, renamed.text
            assert f"đã ghi nhận tài khoản gửi là {a_sub}" in renamed.text
            assert f'href="#sender-{recorded}"' in renamed.text
            malformed = await client.post("/app/operations/rejections/replay", data=form(unrecorded, early, "a b"))
            assert malformed.status_code == 422 and f'href="#sender-{unrecorded}"' in malformed.text
            assert "Tài khoản đã gửi: " in malformed.text
            marked = row_of(malformed.text, early["id"])
            assert f'<input id="sender-{unrecorded}" name="sender" maxlength="64" autocomplete="off"' in marked
            assert 'aria-invalid="true"' in marked, marked
            # typed in an attempt's replay form: said at that form's input, not the rejection's own
            attempt = form(unrecorded, early, "a b") | {"attempt": "1"}
            at_attempt = await client.post("/app/operations/rejections/replay", data=attempt)
            assert at_attempt.status_code == 422 and f'href="#sender-{unrecorded}-attempt-1"' in at_attempt.text
            # an account that does not hold the source: refused again, saying so, the holder never named
            not_holding = await client.post("/app/operations/rejections/replay", data=form(unrecorded, early, a_sub))
            assert not_holding.status_code == 422, not_holding.text
            told = not_holding.text.split('id="page-errors"', 1)[1].split("</div>", 1)[0]
            assert f"tài khoản {a_sub} hiện không giữ nguồn {later}" in told, told
            assert b_sub not in told
            # the account that sent it: judged as B, accepted, and recorded as named by this operator
            named = await client.post("/app/operations/rejections/replay", data=form(unrecorded, early, b_sub))
            assert named.status_code == 303, named.text
        replayed = (await api.get("/v1/rejections", params={"status": "replayed", "limit": 200})).json()["items"]
        [kept] = [item for item in replayed if item["rejection_id"] == unrecorded]
        assert (kept["sender"], kept["sender_named_by"], kept["replay_outcome"]) == (b_sub, web_sub, "accepted")
        assert found[early["id"]]["sender_nameable"] and not found[stolen["id"]]["sender_nameable"]


async def test_a_feeds_rejection_over_amqp_offers_no_sender_to_name(system: RunningSystem) -> None:
    """A feed's event refused over AMQP came from no account's sources list, so no account can be named for it: its
    row offers no "Tài khoản đã gửi" (trial 56 was offered it and refused when it used it), and the API says
    `sender_nameable` false; a scoped account's refusal stored without a sender still offers it (the test above). It
    records the broker user whose `user_id` the message carried (the seed stamps its login), shown as its sender."""
    event = cloudevent(
        "org.unit.upserted.v1", {"id": random_id("cell"), "kind": "cell", "parent_id": None}, source="urn:test:feed"
    )  # no name: refused naming data.name
    await publish(system.env["CHIBO_AMQP_URL"], [event])
    login = publisher(system.env["CHIBO_AMQP_URL"])
    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-feed"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:

        async def refused() -> dict[str, Any] | None:
            listed = (await api.get("/v1/rejections", params={"status": "open", "limit": 200})).json()["items"]
            return next((item for item in listed if item["event_id"] == event["id"]), None)

        item = await eventually(refused, timeout=60, interval=0.5)
    assert (item["sender"], item["sender_nameable"]) == (login, False), item
    web_sub = random_id("operator-feed")
    await web_account(system, web_sub, "operator", None, None)
    async with signed_in(system, web_sub) as client:
        row = row_of((await client.get("/app/operations")).text, event["id"])
        assert 'name="sender"' not in row and "Tài khoản đã gửi" not in row, row
        assert f"Tài khoản gửi: {login}" in row, row
        assert "/operations/rejections/replay" in row, row  # replayable, as it was, without naming anyone
