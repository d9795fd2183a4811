"""Operators (rejections, dead letters, health) and administrators (frameworks, accounts, audit)."""

import argparse
import uuid
from typing import Any

import aio_pika
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.gateway.bootstrap import GatewayState
from services.gateway.config import GatewaySettings
from services.gateway.main import create_checked_web_account
from shared.envelope import now
from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.logs import structured_logs
from tests.support.running import eventually, running_app

PASSWORD = "mật-khẩu-thử-2026"


async def test_an_operator_lists_and_replays_rejections(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    first = next(iter(world.rejections.values()))
    # the world's may be replayed already (the package's other tests, schemathesis among them, replay it)
    rejection = {**first, "rejection_id": random_id("rej"), "status": "open"}
    world.rejections[rejection["rejection_id"]] = rejection
    listed = await client.get(
        "/v1/rejections?status=open&type=meeting.scheduled.v1&limit=200", headers=headers["operator"]
    )
    assert listed.status_code == 200
    assert rejection["rejection_id"] in [item["rejection_id"] for item in listed.json()["items"]]
    as_is = await client.post(
        f"/v1/rejections/{rejection['rejection_id']}/replay", json={}, headers=headers["operator"]
    )
    assert as_is.status_code == 200 and as_is.json()["outcome"] == "rejected"
    bare = await client.post(f"/v1/rejections/{rejection['rejection_id']}/replay", headers=headers["operator"])
    assert bare.status_code == 200 and bare.json() == as_is.json()  # no body at all: replayed as it was
    corrected = {
        "specversion": "1.0",
        "id": "evt-fixed-" + rejection["rejection_id"],
        "source": "urn:test",
        "type": "meeting.cancelled.v1",
        "time": "2026-11-02T10:00:00+07:00",
        "data": {"meeting_id": world.meeting_a1, "reason": "Sửa lỗi"},
    }
    replayed = await client.post(
        f"/v1/rejections/{rejection['rejection_id']}/replay", json={"event": corrected}, headers=headers["operator"]
    )
    assert replayed.status_code == 200 and replayed.json()["outcome"] == "accepted"
    missing = await client.post("/v1/rejections/rej-nowhere/replay", json={}, headers=headers["operator"])
    assert missing.status_code == 404 and missing.json()["message"] == "rejection rej-nowhere not found"


async def test_an_operator_dismisses_a_rejection_with_a_reason_and_it_is_audited(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A trial's rejections could only be replayed: garbage stayed open for ever. An operator closes one saying
    why; it leaves the open list, is listed as dismissed with who and why, and the action is audited."""
    first = next(iter(world.rejections.values()))
    rejection = {**first, "rejection_id": random_id("rej"), "status": "open"}  # the world's may be replayed already
    world.rejections[rejection["rejection_id"]] = rejection
    path = f"/v1/rejections/{rejection['rejection_id']}/dismiss"
    unsaid = await client.post(path, json={}, headers=headers["operator"])
    assert unsaid.status_code == 422  # a dismissal says why
    refused = await client.post(path, json={"reason": "Dữ liệu rác"}, headers=headers["secretary"])
    assert refused.status_code == 403
    closed = await client.post(path, json={"reason": "Dữ liệu rác"}, headers=headers["operator"])
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["dismissal_reason"]) == ("dismissed", "Dữ liệu rác")
    assert closed.json()["dismissed_by"] and closed.json()["dismissed_at"]
    still_open = await client.get("/v1/rejections?status=open", headers=headers["operator"])
    assert rejection["rejection_id"] not in [item["rejection_id"] for item in still_open.json()["items"]]
    dismissed = await client.get("/v1/rejections?status=dismissed", headers=headers["operator"])
    listed = {item["rejection_id"]: item for item in dismissed.json()["items"]}
    assert listed[rejection["rejection_id"]]["dismissal_reason"] == "Dữ liệu rác"
    again = await client.post(path, json={"reason": "lần nữa"}, headers=headers["operator"])
    assert again.status_code == 409
    missing = await client.post("/v1/rejections/rej-nowhere/dismiss", json={"reason": "x"}, headers=headers["operator"])
    assert missing.status_code == 404
    audit = await client.get("/v1/audit?limit=200", headers=headers["admin"])
    entries = [entry for entry in audit.json()["items"] if entry["path"] == path and entry["status"] == 200]
    assert entries and entries[0]["detail"]["action"] == "rejection_dismissed"
    assert entries[0]["detail"]["reason"] == "Dữ liệu rác"


async def test_an_operator_names_the_sender_of_a_rejection_stored_before_senders_were_kept_and_it_is_audited(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A rejection stored before meetings kept senders replays only as the account an operator names: the gateway
    hands meetings that account and who named it, and the audit log keeps the naming; a sub that is no id is 422."""
    rejection = {**next(iter(world.rejections.values())), "rejection_id": random_id("rej"), "status": "open"}
    world.rejections[rejection["rejection_id"]] = rejection
    path = f"/v1/rejections/{rejection['rejection_id']}/replay"
    malformed = await client.post(path, json={"sender": "không phải id"}, headers=headers["operator"])
    assert malformed.status_code == 422 and malformed.json()["field"] == "sender", malformed.json()
    named = await client.post(path, json={"sender": "memberdb-xa"}, headers=headers["operator"])
    assert named.status_code == 200, named.json()
    asked = world.replays[-1]
    assert (asked.rejection_id, asked.sender) == (rejection["rejection_id"], "memberdb-xa")
    assert asked.replayed_by.startswith("operator")
    audit = await client.get("/v1/audit?limit=200", headers=headers["admin"])
    entries = [entry for entry in audit.json()["items"] if entry["path"] == path and entry["status"] == 200]
    assert entries and entries[0]["detail"]["sender"] == "memberdb-xa"
    assert entries[0]["sub"] == asked.replayed_by


async def test_an_operator_reads_the_operators_actions_in_the_audit_log_and_no_personal_data_reads(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A trial's operator got 403 from GET /v1/audit, where docs/operations.md says operator actions are audited.
    An operator reads the operators' actions (theirs and colleagues', API and command line); who read members'
    personal data, and every other role's calls, stay the admins' to read."""
    rejection = {**next(iter(world.rejections.values())), "rejection_id": random_id("rej"), "status": "open"}
    world.rejections[rejection["rejection_id"]] = rejection
    path = f"/v1/rejections/{rejection['rejection_id']}/dismiss"
    assert (await client.post(path, json={"reason": "Dữ liệu rác"}, headers=headers["operator"])).status_code == 200
    members = f"/v1/cells/{world.cell_a1}/members"
    assert (await client.get(members, headers=headers["operator"])).status_code == 403  # audited: a personal read
    assert (await client.get(members, headers=headers["secretary"])).status_code == 200
    await client.post("/v1/rescore", json={}, headers=headers["member"])
    seen = await client.get("/v1/audit?limit=200", headers=headers["operator"])
    assert seen.status_code == 200, seen.text
    items = seen.json()["items"]
    assert [entry["detail"]["action"] for entry in items if entry["path"] == path] == ["rejection_dismissed"]
    assert {entry["role"] for entry in items} == {"operator"}
    assert not [entry for entry in items if "personal_data" in (entry["detail"] or {})]
    assert seen.json()["total"] == len(items) or len(items) == 200
    every = (await client.get("/v1/audit?limit=200", headers=headers["admin"])).json()["items"]
    assert {("operator", members), ("secretary", members), ("member", "/v1/rescore")} <= {
        (entry["role"], entry["path"]) for entry in every
    }
    assert (await client.get("/v1/audit", headers=headers["secretary"])).status_code == 403


async def test_an_operator_sees_the_depth_of_every_dead_letter_queue(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], amqp_url: str
) -> None:
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    connection = await aio_pika.connect(amqp_url)
    try:  # the package shares a vhost: another test's dead letters (test_recovery's) are not this test's to count
        channel = await connection.channel()
        for queue in CONSUMER_QUEUES:
            await (await channel.get_queue(queue.dead_letter_queue, ensure=False)).purge()
    finally:
        await connection.close()
    response = await client.get("/v1/dead-letters", headers=headers["operator"])
    assert response.status_code == 200
    body = response.json()
    assert [item["dead_letter_queue"] for item in body["queues"]] == [q.dead_letter_queue for q in CONSUMER_QUEUES]
    assert all(item["messages"] == 0 and item["error"] is None for item in body["queues"])
    assert body["total"] == 0


async def test_an_operator_sees_each_services_health(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], state: GatewayState
) -> None:
    async def healthy(request: Any) -> JSONResponse:
        return JSONResponse({"service": "meetings", "status": "ok"})

    async def degraded(request: Any) -> JSONResponse:
        return JSONResponse({"service": "evaluation", "status": "degraded"}, status_code=503)

    fake = Starlette(routes=[Route("/health", healthy), Route("/evaluation/health", degraded)])
    async with running_app(fake) as base:
        state.settings.service_health_urls = {
            "meetings": f"{base}/health",
            "evaluation": f"{base}/evaluation/health",
            "notifications": "http://127.0.0.1:9/health",
        }
        try:
            response = await client.get("/v1/system/health", headers=headers["operator"])
        finally:
            state.settings.service_health_urls = {}
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["broker"] == "ok"
    assert body["services"]["meetings"]["status"] == "ok"
    assert body["services"]["evaluation"]["status"] == "degraded"
    assert body["services"]["notifications"]["status"] == "down"


async def test_the_health_names_every_service_down_and_every_queue_nobody_reads(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    state: GatewayState,
    amqp_url: str,
    database_url: str,
) -> None:
    """After a kill -9 of meetings and evaluation their health pages do not answer and their queues have no consumer:
    `attention` names both services and each queue, in the overview's own words, not only the dead letters."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)

    async def healthy(request: Any) -> JSONResponse:
        return JSONResponse({"service": "notifications", "status": "ok"})

    fake = Starlette(routes=[Route("/health", healthy)])
    async with running_app(fake) as base:
        state.settings.service_health_urls = {
            "meetings": "http://127.0.0.1:9/health",  # nothing listens: as a killed service's port
            "evaluation": "http://127.0.0.1:9/health",
            "notifications": f"{base}/health",
        }
        try:
            health = (await client.get("/v1/system/health", headers=headers["operator"])).json()
            overview = (await client.get("/v1/operations/overview", headers=headers["operator"])).json()
            page = await operator_page(client, amqp_url, database_url)
        finally:
            state.settings.service_health_urls = {}
    assert health["status"] == "degraded"
    attention = health["attention"]
    assert "meetings down" in attention and "evaluation down" in attention, attention
    assert "notifications down" not in attention and "notifications ok" not in attention
    # no consumer reads the services' event queues in this test (the fakes answer only their RPC queues)
    assert "no consumer on meetings.ingest" in attention and "no consumer on evaluation.facts" in attention
    assert "no consumer on meetings.rpc" not in attention
    told = [line for service in overview["services"].values() for line in service["attention"]]
    assert [line for line in told if line.startswith("no consumer on")], told
    assert all(line in attention for line in told if line.startswith("no consumer on")), (told, attention)
    assert overview["services"]["meetings"]["status"] == "down"
    # the operator's page says the same: both services not answering, each queue nobody reads named
    for service in ("meetings", "evaluation"):
        row = page[page.index(f'<tr data-service="{service}">') :]
        row = row[: row.index("</tr>")]
        assert 'data-status="down"' in row and "Không phản hồi" in row, row
    assert "Không có bên nhận trên meetings.ingest" in page and "Không có bên nhận trên evaluation.facts" in page


async def operator_page(
    client: httpx.AsyncClient, amqp_url: str, database_url: str, *, keep_signed_in: bool = False
) -> str:
    """The web app's operator page, signed in as an operator made for it (the gateway's own account command); signed
    out afterwards unless `keep_signed_in` (the caller then clears the client's cookies)."""
    sub = f"ops-{uuid.uuid4().hex[:8]}"
    args = argparse.Namespace(
        sub=sub, role="operator", unit=None, person=None, password=PASSWORD, oidc_subject=None, oidc_email=None
    )
    await create_checked_web_account(GatewaySettings(database_url=database_url, amqp_url=amqp_url), args)
    form = (await client.get("/app/sign-in")).text
    csrf = form[form.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]
    signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf})
    assert signed.status_code == 303, signed.text
    try:
        page = await client.get("/app/operations")
        assert page.status_code == 200, page.text
        return page.text
    finally:
        if not keep_signed_in:
            client.cookies.clear()


async def test_an_operator_retries_a_failed_delivery(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    failed = await client.get("/v1/deliveries/failed", headers=headers["operator"])
    assert failed.json()["items"][0]["delivery_id"] == 1
    retried = await client.post("/v1/deliveries/1/retry", headers=headers["operator"])
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert (await client.post("/v1/deliveries/1/retry", headers=headers["admin"])).status_code == 403


async def test_an_administrator_manages_frameworks_and_rescores(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    document = {"id": "qn-15-2018", "version": "1", "issuer": "Tỉnh ủy Quảng Nam", "criteria": []}
    adopted = await client.post(
        "/v1/frameworks", json={"document": document, "committee_id": world.root}, headers=headers["admin"]
    )
    assert adopted.status_code == 201 and adopted.json()["id"] == "qn-15-2018"
    listed = await client.get("/v1/frameworks", headers=headers["admin"])
    assert "qn-15-2018" in [item["id"] for item in listed.json()["items"]]
    rescored = await client.post("/v1/rescore", json={"period_from": "2025-01"}, headers=headers["admin"])
    assert rescored.status_code == 202 and rescored.json()["status"] == "queued"
    progress = await client.get(f"/v1/rescore/{rescored.json()['job_id']}", headers=headers["admin"])
    assert progress.status_code == 200 and progress.json()["status"] == "done"
    assert progress.json()["changed"] == 0
    missing = await client.get("/v1/rescore/no-such-job", headers=headers["admin"])
    assert missing.status_code == 404
    assert (await client.get("/v1/frameworks/nope", headers=headers["admin"])).status_code == 404
    for role in ("member", "secretary", "ward_officer", "operator", "integration"):
        refused = await client.post("/v1/frameworks", json={"document": document}, headers=headers[role])
        assert refused.status_code == 403, role


async def test_a_committee_officer_rescores_only_a_committee_of_their_subtree(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    own = await client.post("/v1/rescore", json={"unit_id": world.ward_a}, headers=headers["ward_officer"])
    assert own.status_code == 202, own.text
    progress = await client.get(f"/v1/rescore/{own.json()['job_id']}", headers=headers["ward_officer"])
    assert progress.status_code == 200 and progress.json()["unit_id"] == world.ward_a
    everything = await client.post("/v1/rescore", json={}, headers=headers["ward_officer"])
    assert everything.status_code == 422 and everything.json()["field"] == "unit_id"
    other = await client.post("/v1/rescore", json={"unit_id": world.ward_b}, headers=headers["ward_officer"])
    assert other.status_code == 404
    # the user trial: a cell's id answered "committee … not found" about a unit that exists; it is named as a cell,
    # the field named, while a cell outside the subtree stays the 404 of any unknown id
    a_cell = await client.post("/v1/rescore", json={"unit_id": world.cell_a1}, headers=headers["ward_officer"])
    assert a_cell.status_code == 422 and a_cell.json()["field"] == "unit_id", a_cell.text
    assert f"unit {world.cell_a1} is a cell, not a committee" in a_cell.text and "not found" not in a_cell.text
    elsewhere = await client.post("/v1/rescore", json={"unit_id": world.cell_b1}, headers=headers["ward_officer"])
    assert elsewhere.status_code == 404 and "is a cell" not in elsewhere.text
    province = await client.post("/v1/rescore", json={"period_from": "2025-01"}, headers=headers["admin"])
    hidden = await client.get(f"/v1/rescore/{province.json()['job_id']}", headers=headers["ward_officer"])
    assert hidden.status_code == 404


async def test_an_administrator_creates_and_disables_accounts(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    created = await client.post(
        "/v1/accounts",
        json={"role": "member", "unit_id": world.cell_a1, "person_id": world.member_a1},
        headers=headers["admin"],
    )
    assert created.status_code == 201, created.text
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    sub = created.json()["account"]["sub"]
    assert (await client.get("/v1/me", headers=token)).json()["person_id"] == world.member_a1
    disabled = await client.delete(f"/v1/accounts/{sub}", headers=headers["admin"])
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert (await client.get("/v1/me", headers=token)).status_code == 401
    no_unit = await client.post("/v1/accounts", json={"role": "secretary"}, headers=headers["admin"])
    assert no_unit.status_code == 422 and no_unit.json()["field"] == "unit_id"


async def test_refused_state_changes_are_audited_too(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], state: GatewayState
) -> None:
    await client.post("/v1/rescore", json={}, headers=headers["member"])
    audit = await client.get("/v1/audit?limit=200", headers=headers["admin"])
    entries = [entry for entry in audit.json()["items"] if entry["path"] == "/v1/rescore" and entry["status"] == 403]
    assert entries and entries[0]["role"] == "member" and entries[0]["client_ip"] == "203.0.113.7"


async def test_health_reports_which_services_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json()["services"] == {
        "meetings": "answering",
        "evaluation": "answering",
        "notifications": "answering",
    }
    assert response.json()["status"] == "ok"


async def test_a_bug_inside_a_service_method_is_a_500_not_a_422(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get(f"/v1/frameworks/{world.buggy_framework}", headers=headers["admin"])
    assert response.status_code == 500
    assert response.json()["code"] == "internal" and response.json()["field"] is None
    # the (fake) service logged the traceback where the bug hit; the gateway logged the internal answer
    lines = structured_logs(caplog)
    [failed] = [line for line in lines if line["event"] == "rpc_method_failed"]
    assert failed["exc_info"] is True and "KeyError" in failed["error"]
    assert any(line["event"] == "service_internal_error" for line in lines)


@pytest.mark.parametrize(
    ("span", "field"),
    [
        ({"period_from": "2026-12", "period_to": "2026-11"}, "period_to"),
        ({"period_from": "2026-Q4", "period_to": "2026-09"}, "period_to"),
        ({"period_from": "2099-01", "period_to": "2099-03"}, "period_from"),
        ({"period_from": "2099"}, "period_from"),
        ({"period_from": "２０２６"}, "period_from"),  # fullwidth digits passed pattern `\d` (Rust regex: Unicode)
        ({"period_from": "2025-01", "period_to": "٢٠٢٦-Q4"}, "period_to"),
        # trial 21: these were queued (202) and the job failed with a raw ValueError
        ({"period_from": "0001-01", "period_to": "9999-12"}, "period_from"),
        ({"period_from": "2025-01", "period_to": "9999-12"}, "period_to"),
        ({"period_from": "2025-01", "period_to": "9998-12"}, "period_to"),
        ({"period_from": "1999-12"}, "period_from"),
        ({"period_from": "9999-12"}, "period_from"),
    ],
)
async def test_a_rescore_over_an_impossible_span_is_refused_naming_the_field(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, span: dict[str, str], field: str
) -> None:
    # the user trial: a span ending before it begins, or wholly ahead of today, was queued (202) and ran "done" over
    # nothing; it is refused, the field named, and no job is queued
    refused = await client.post("/v1/rescore", json={"unit_id": world.ward_a, **span}, headers=headers["admin"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field


async def test_a_rescore_reaching_into_the_running_month_is_queued_and_one_past_it_refused(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    # the running year has begun: taken (up to now); next year has not, as no page offers it (h368; 2099 is refused
    # since trial 21)
    queued = await client.post(
        "/v1/rescore",
        json={"unit_id": world.ward_a, "period_from": "2025-01", "period_to": str(now().year)},
        headers=headers["admin"],
    )
    assert queued.status_code == 202, queued.text
    refused = await client.post(
        "/v1/rescore",
        json={"unit_id": world.ward_a, "period_from": "2025-01", "period_to": str(now().year + 1)},
        headers=headers["admin"],
    )
    assert refused.status_code == 422 and refused.json()["field"] == "period_to", refused.text


async def test_a_rescore_over_half_years_is_queued_and_a_period_of_no_form_is_refused_in_words(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A user trial: `"period_from": "2026-H2"` answered 422 quoting a raw regex, though quarters were taken. A
    half-year means its months, as a quarter does; a value of no period's form is refused naming the field and the
    forms accepted, never the pattern."""
    last_half = f"{now().year - 1}-H2"
    for span in ({"period_from": last_half}, {"period_from": f"{now().year - 1}-H1", "period_to": last_half}):
        queued = await client.post("/v1/rescore", json={"unit_id": world.ward_a, **span}, headers=headers["admin"])
        assert queued.status_code == 202, queued.text
    forms = "expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026)"
    for field, value in (("period_from", "2026-H3"), ("period_to", "２０２６"), ("period_from", "2026-1")):
        refused = await client.post(
            "/v1/rescore",
            json={"unit_id": world.ward_a, "period_from": "2025-01", field: value},
            headers=headers["admin"],
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
        assert refused.json()["message"] == f"{field}: {forms}, not {value!r}", refused.text
        assert "^" not in refused.json()["message"] and "pattern" not in refused.json()["message"]


async def test_a_rejections_code_is_its_reason_code_in_the_list_as_in_the_ingest_answer(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A user trial read the code as `reason_code` in POST /v1/events but as `refusal.code` in GET /v1/rejections:
    both answers name it `reason_code` (docs/integrations.md), a refused replay's as `last_replay_reason_code`."""
    rejection = {
        **next(iter(world.rejections.values())),
        "rejection_id": random_id("rej"),
        "type": "org.unit.upserted.v1",
        "reason": "data.parent_id: a cell needs a parent committee",
        "field": "data.parent_id",
        "status": "open",
        "refusal": {"code": "unit_without_parent"},
        "last_replay_refusal": {"code": "unit_without_parent"},
    }
    world.rejections[rejection["rejection_id"]] = rejection
    listed = await client.get("/v1/rejections?status=open", headers=headers["operator"])
    assert listed.status_code == 200, listed.text
    items = {item["rejection_id"]: item for item in listed.json()["items"]}
    item = items[rejection["rejection_id"]]
    assert (item["reason_code"], item["last_replay_reason_code"]) == ("unit_without_parent", "unit_without_parent")
    assert "refusal" not in item and "last_replay_refusal" not in item
    assert all("refusal" not in other and "reason_code" in other for other in items.values())
    closed = await client.post(
        f"/v1/rejections/{rejection['rejection_id']}/dismiss", json={"reason": "Đã báo"}, headers=headers["operator"]
    )
    assert closed.status_code == 200 and closed.json()["reason_code"] == "unit_without_parent"
    assert "refusal" not in closed.json()
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["RejectionRead"]["properties"]
    assert "reason_code" in schema and "refusal" not in schema
    assert schema.keys() >= {"reason_code", "last_replay_reason_code"}


async def test_the_health_and_the_overview_say_how_many_messages_went_unrouted_and_which_types_land_there(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], amqp_url: str
) -> None:
    """Trial: chibo.unrouted held 66 messages nobody reads and neither the health nor the operator page said so. The
    types no chibo service binds (published for listeners outside chibo) land there by design: named, counted, no
    alarm by themselves (a service's own losses are its /health's, ChiboEventsUnrouted)."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    before = (await client.get("/v1/system/health", headers=headers["operator"])).json()
    assert isinstance(before["unrouted"], int)
    assert before["unrouted_types"] == [
        "ingest.rejected.v1",
        "ingest.warned.v1",  # h440: a partial roster's warning, for the sending partner's listeners
        "notification.delivered.v1",
        "notification.failed.v1",
    ]
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("chibo.events")
        for key in ("notification.delivered.v1", "notification.failed.v1"):
            await exchange.publish(aio_pika.Message(b"{}", message_id=random_id("unrouted")), routing_key=key)
    finally:
        await connection.close()

    async def counted() -> dict[str, Any] | None:
        health = (await client.get("/v1/system/health", headers=headers["operator"])).json()
        return health if health["unrouted"] >= before["unrouted"] + 2 else None

    health = await eventually(counted)
    assert not any("unrouted" in line for line in health["attention"])  # by design: no alarm by itself
    overview = (await client.get("/v1/operations/overview", headers=headers["operator"])).json()
    assert overview["unrouted"] >= before["unrouted"] + 2
    assert overview["unrouted_types"] == health["unrouted_types"]


async def test_a_rescore_period_sent_as_no_text_is_refused_in_the_same_words(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """Trial 36 #2: `"period_from": 2026` (a number) answered pydantic's "Input should be a valid string"; a period
    field sent as anything but text names the field and the forms accepted, as every other refused period does."""
    forms = "expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026)"
    for field, value, said in (
        ("period_from", 2026, "2026"),
        ("period_to", 2026.5, "2026.5"),
        ("period_from", ["2026"], '["2026"]'),
        ("period_to", True, "true"),
    ):
        refused = await client.post(
            "/v1/rescore",
            json={"unit_id": world.ward_a, "period_from": "2025-01", field: value},
            headers=headers["admin"],
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
        assert refused.json()["message"] == f"{field}: {forms} as text, not {said}", refused.text


async def test_the_overview_carries_every_queues_figures_at_the_top_level(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], amqp_url: str
) -> None:
    """A monitor reading the overview's top level saw no queue at all: they were only under `services.*`. Each served
    queue is under `queues` by name with the same ready, unacknowledged and dead-lettered numbers its service has."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)
    response = await client.get("/v1/operations/overview", headers=headers["operator"])
    assert response.status_code == 200
    body = response.json()
    expected = {
        queue["name"]: {
            "service": service,
            "ready": queue["messages"],
            "unacknowledged": queue["unacknowledged"],
            "dead_lettered": found["dead_letters"].get(f"{queue['name']}.dlq", 0),
            "consumers": queue["consumers"],
        }
        for service, found in body["services"].items()
        for queue in found["queues"]
    }
    assert {q.name for q in CONSUMER_QUEUES} <= set(expected)
    assert body.get("queues") == expected
    assert all(isinstance(body["queues"][q.name]["dead_lettered"], int) for q in CONSUMER_QUEUES)
