"""The operators see and name a rejection's sending account. A rejection stored before meetings kept senders (0034)
could be replayed only by `POST /v1/rejections/{id}/replay {"sender": …}`: the operations page had no way to name
the account, and neither the API's list nor the page showed the account a rejection records. The list shows it
(`sender`, "Tài khoản gửi"), the page's replay form of a rejection without one asks for it ("Tài khoản đã gửi"),
and a wrong account is refused naming the field: the one recorded is named, the holders of a source never are.
Against the real services."""

import json
from collections.abc import AsyncIterator
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


def row_by_id(page: str, rejection_id: str) -> str:
    """The page's table row of the rejection `rejection_id` (a whole body's names no event)."""
    marked = f'name="rejection_id" value="{rejection_id}"'
    assert marked in page, rejection_id
    before, _ = page.split(marked, 1)
    return before.rsplit("<tr>", 1)[1] + page.split(marked, 1)[1].split("</tr>", 1)[0]


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


LIMIT = 8 * 1024 * 1024
"""The gateway's body limit in the running system (CHIBO_MAX_BODY_BYTES unset: its default)."""


async def streamed(head: bytes, size: int) -> AsyncIterator[bytes]:
    """`head`, then filler up to `size` bytes, sent chunked (no Content-Length): cut by the gateway as it streams."""
    yield head
    left = size - len(head)
    while left > 0:
        chunk = min(left, 1 << 20)
        yield b" " * chunk
        left -= chunk


async def test_every_body_refused_over_http_records_the_authenticated_account(system: RunningSystem) -> None:
    """The gateway authenticates a POST /v1/events before it reads the body, so every body refused as a whole, a body
    cut at the gateway's size limit too, records the API account that sent it as its `sender`: listed by the API,
    shown on the operations page and named by meetings' `event_rejected` line. A body over the limit was stored
    without any sender while every other refused body named it."""
    sub = random_id("partner-body")
    token = await api_token(system, role="integration", unit=None, sub=sub, province_wide=True)
    auth = {"Authorization": f"Bearer {token}"}
    structured = {**auth, "Content-Type": "application/cloudevents+json"}
    batch = {**auth, "Content-Type": "application/cloudevents-batch+json"}
    marker = random_id("body")
    cut_id = random_id("evt-cut")
    attributes = {
        "ce-specversion": "1.0",
        "ce-id": cut_id,
        "ce-source": f"urn:test:{random_id('feed')}",
        "ce-type": "org.unit.upserted.v1",
        "ce-time": "2026-11-01T08:00:00+07:00",
    }
    cases: list[tuple[str, Any, dict[str, str], int]] = [
        ("not-json", f"{marker}-not-json {{".encode(), structured, 400),
        (
            "neither-mode",
            json.dumps({"m": f"{marker}-neither-mode"}).encode(),
            {**auth, "Content-Type": "text/plain"},
            415,
        ),
        ("bad-batch", json.dumps({"m": f"{marker}-bad-batch"}).encode(), batch, 422),
        ("cut-streamed", streamed(f'[{{"m": "{marker}-cut-streamed"'.encode(), LIMIT + 4096), batch, 413),
        ("cut-declared", b"{" + b" " * LIMIT + b"}", {**auth, "Content-Type": "application/json", **attributes}, 413),
    ]
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=120) as api:
        for name, body, headers, status in cases:
            sent = await api.post("/v1/events", content=body, headers=headers)
            assert sent.status_code == status, (name, sent.status_code, sent.text)
    database = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:

        async def stored() -> dict[str, asyncpg.Record] | None:
            rows = await database.fetch(
                "SELECT rejection_id, raw, event_id, sender FROM meetings.rejection WHERE raw LIKE $1 OR event_id = $2",
                f"%{marker}%",
                cut_id,
            )
            found = {name: row for name, *_ in cases for row in rows if f"{marker}-{name}" in row["raw"]}
            for row in rows:
                if row["event_id"] == cut_id:  # binary mode: named by the identity its headers carry
                    found["cut-declared"] = row
            return found if len(found) == len(cases) else None

        rows = await eventually(stored, timeout=60, interval=0.5)
    finally:
        await database.close()
    assert {name: row["sender"] for name, row in rows.items()} == {name: sub for name, *_ in cases}, rows

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-body"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        listed = (await api.get("/v1/rejections", params={"status": "open", "limit": 200})).json()["items"]
    ids = {str(row["rejection_id"]): name for name, row in rows.items()}
    senders = {ids[item["rejection_id"]]: item["sender"] for item in listed if item["rejection_id"] in ids}
    assert senders == {name: sub for name, *_ in cases}, senders

    web_sub = random_id("operator-body")
    await web_account(system, web_sub, "operator", None, None)
    async with signed_in(system, web_sub) as client:
        shown = row_of((await client.get("/app/operations")).text, cut_id)
    assert f'data-sender="{sub}"' in shown and f"Tài khoản gửi: {sub}" in shown, shown

    def logged() -> dict[str, Any] | None:
        for line in system.logs["meetings"].read_text(encoding="utf-8", errors="replace").splitlines():
            if cut_id in line and '"event_rejected"' in line:
                return dict(json.loads(line))
        return None

    line = await eventually(logged, timeout=30, interval=0.5)
    assert line["sender"] == sub, line


async def test_the_trials_refused_bodies_record_the_authenticated_account(system: RunningSystem) -> None:
    """The trial's three refusals of POST /v1/events by an integration's token, each shown on the operations page
    without "Tài khoản gửi" and replayable only by typing the account in: a `text/plain` body (415), a batch that is
    not a JSON array (422) and a batch of 1,001 events (413, too many). Each records the account that sent it, is
    listed with it by the API and shown with it on the page, its replay form asking for no account."""
    xa = random_id("xa")
    province = await api_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    root = cloudevent("org.unit.upserted.v1", {"id": xa, "name": "Xã", "kind": "committee", "parent_id": None})
    assert (await send(system, province, root))["outcome"] == "accepted"
    sub, source = random_id("partner-trial"), f"urn:test:{random_id('trial-feed')}"
    # scoped, with its sources, as the demo's `demo-integration`: a rejection stored without a sender offers the field
    token = await api_token(system, role="integration", unit=xa, sub=sub, sources=[source])
    auth = {"Authorization": f"Bearer {token}"}
    batch = {**auth, "Content-Type": "application/cloudevents-batch+json"}
    marker = random_id("trial")

    def event(name: str) -> dict[str, Any]:
        data = {"id": random_id("cell"), "name": f"{marker}-{name}", "kind": "cell", "parent_id": xa}
        return cloudevent("org.unit.upserted.v1", data, source=source)

    plain, lone, many = event("plain"), event("lone"), [event("many") for _ in range(1001)]
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("plain", f"{marker}-plain: xin chào".encode(), {**auth, "Content-Type": "text/plain"}, 415, plain["id"]),
        ("lone", json.dumps(lone, ensure_ascii=False).encode(), batch, 422, lone["id"]),
        ("many", json.dumps(many, ensure_ascii=False).encode(), batch, 413, many[0]["id"]),
    ]
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=120) as api:
        for name, body, headers, status, _ in cases:
            sent = await api.post("/v1/events", content=body, headers=headers)
            assert sent.status_code == status, (name, sent.status_code, sent.text)
    database = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:

        async def stored() -> dict[str, asyncpg.Record] | None:
            rows = await database.fetch(
                "SELECT rejection_id, raw, event_id, sender FROM meetings.rejection WHERE raw LIKE $1",
                f"%{marker}%",
            )
            found = {name: row for name, *_ in cases for row in rows if f"{marker}-{name}" in row["raw"]}
            return found if len(found) == len(cases) else None

        rows = await eventually(stored, timeout=60, interval=0.5)
    finally:
        await database.close()
    assert {name: row["sender"] for name, row in rows.items()} == {name: sub for name, *_ in cases}, rows

    operator = await api_token(system, role="operator", unit=None, sub=random_id("api-operator-trial"))
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {operator}"}
    ) as api:
        listed = (await api.get("/v1/rejections", params={"status": "open", "limit": 200})).json()["items"]
    ids = {str(row["rejection_id"]): name for name, row in rows.items()}
    senders = {ids[item["rejection_id"]]: item["sender"] for item in listed if item["rejection_id"] in ids}
    assert senders == {name: sub for name, *_ in cases}, senders

    web_sub = random_id("operator-trial")
    await web_account(system, web_sub, "operator", None, None)
    async with signed_in(system, web_sub) as client:
        page = (await client.get("/app/operations")).text
    for name, row in rows.items():  # a whole body names no event: its row is the one of its rejection id
        shown = row_by_id(page, str(row["rejection_id"]))
        assert f'data-sender="{sub}"' in shown and f"Tài khoản gửi: {sub}" in shown, (name, shown)
        assert 'name="sender"' not in shown and "Tài khoản đã gửi" not in shown, (name, shown)  # nothing to type in
