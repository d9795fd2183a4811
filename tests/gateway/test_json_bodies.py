"""Every JSON body the gateway takes is read by CONTRACT.md's reading rules that apply to any body: no NaN or Infinity,
no U+0000, no unpaired surrogate, no key given twice, refused with 422 naming the field before any handler runs; and
an audit row is never lost silently.

The user trial: `PUT /v1/committees/{c}/alert-rules/meeting_reminder {"params":{"hours_before":NaN}}` answered 200,
the committee's value silently back to the default (NaN reached notifications as null), and no audit row (PostgreSQL's
json refused the NaN of its detail: only an `audit_write_failed` log line said so)."""

import json
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from services.gateway.limits import AuditTrail
from services.gateway.repository import AuditEntry
from shared.audit import append_audit
from tests.gateway.fakes import World
from tests.gateway.test_role_before_body import TOKENS, WRITES, path_of, role_check, write_routes_with_a_body
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs

# (what the body holds, how JSON text writes it): each breaks a reading rule of CONTRACT.md
FAULTS = [
    ("NaN", "NaN"),
    ("Infinity", "Infinity"),
    ("-Infinity", "-Infinity"),
    ("an overflowing number", "1e999"),
    ("a huge exponent", "-1e99999999999999999999"),
    ("a number of too many digits", "9" * 5_000),  # a trial's: Python's words told the sender of sys.set_int_…
    ("U+0000", '"a\\u0000b"'),
    ("an unpaired surrogate", '"a\\ud800b"'),
]


def rule_of(answer: dict[str, Any], name: str) -> dict[str, Any]:
    """One rule of a GET /alert-rules answer."""
    return next(item for item in answer["rules"] if item["rule"] == name)


@pytest.mark.parametrize(("fault", "written"), FAULTS, ids=[fault for fault, _ in FAULTS])
async def test_the_trials_nan_lead_time_is_refused_naming_the_field_and_nothing_changes(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, fault: str, written: str
) -> None:
    officer = headers["ward_officer"]
    path = f"/v1/committees/{world.ward_a}/alert-rules/meeting_reminder"
    listed = (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=officer)).json()
    before = rule_of(listed, "meeting_reminder")
    sent = await client.put(
        path,
        content='{"params": {"hours_before": ' + written + "}}",
        headers={**officer, "Content-Type": "application/json"},
    )
    assert sent.status_code == 422, sent.text
    error = sent.json()
    assert error["code"] == "invalid" and error["field"] == "params.hours_before", error
    assert error["message"].startswith("params.hours_before: "), error
    after = (await client.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=officer)).json()
    assert rule_of(after, "meeting_reminder") == before


def json_routes() -> list[APIRoute]:
    """Every /v1 write route whose body is a JSON model (POST /v1/events reads events by CONTRACT.md itself)."""
    return [route for route in write_routes_with_a_body() if route.body_field is not None]


def test_the_walk_finds_the_json_body_routes() -> None:
    paths = {route.path for route in json_routes()}
    assert {"/v1/committees/{committee_id}/alert-rules/{rule}", "/v1/accounts", "/v1/me/preferences"} <= paths
    assert len(paths) >= 20


@pytest.mark.parametrize("route", json_routes(), ids=lambda route: route.path)
@pytest.mark.parametrize(("fault", "written"), FAULTS, ids=[fault for fault, _ in FAULTS])
async def test_every_json_body_refuses_what_contract_reading_refuses(
    route: APIRoute,
    fault: str,
    written: str,
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
) -> None:
    insider = next(role for role in TOKENS if role in role_check(route).roles)
    method = sorted(set(route.methods or ()) & WRITES)[0]
    body = '{"outer": {"zz_value": ' + written + "}}"
    sent = await client.request(
        method,
        path_of(route, world),
        content=body,
        headers={**headers[TOKENS[insider]], "Content-Type": "application/json"},
    )
    assert sent.status_code == 422, (route.path, sent.text)
    assert sent.json()["field"] == "outer.zz_value", sent.text
    assert sent.json()["message"].startswith("outer.zz_value: ") and "sys." not in sent.text, sent.text


async def test_a_key_given_twice_and_a_key_holding_u0000_are_refused(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    preferences = {**headers["member"], "Content-Type": "application/json"}
    twice = await client.put(
        "/v1/me/preferences", content='{"channels": [], "channels": ["email"]}', headers=preferences
    )
    assert (twice.status_code, twice.json()["field"]) == (422, "channels"), twice.text
    keyed = await client.put("/v1/me/preferences", content='{"a\\u0000": 1}', headers=preferences)
    assert keyed.status_code == 422, keyed.text


async def test_a_body_that_is_not_utf8_is_refused_naming_the_body(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]]
) -> None:
    """Trial 14: a raw \\xff answered 400 "There was an error parsing the body" (FastAPI's words), naming nothing."""
    preferences = {**headers["member"], "Content-Type": "application/json"}
    for body in (b"\xff", b'{"channels": ["\xffemail"]}'):
        refused = await client.put("/v1/me/preferences", content=body, headers=preferences)
        assert refused.status_code == 400, refused.text
        answer = refused.json()
        assert (answer["code"], answer["field"]) == ("bad_request", "body"), answer
        assert answer["message"].startswith("body: not valid JSON"), answer


async def test_a_body_fastapi_reads_itself_never_says_pythons_words() -> None:
    """A JSON body FastAPI reads itself (one BodySizeLimit did not read first) whose integer Python does not read was
    answered `body: not valid JSON (not UTF-8 text)`: a wrong reason. It names the number, in our words."""
    from fastapi import FastAPI
    from pydantic import BaseModel

    from services.gateway.http.errors import install_error_handlers

    class Body(BaseModel):
        n: int

    bare = FastAPI()
    install_error_handlers(bare)

    @bare.post("/n")
    async def take(body: Body) -> int:
        return body.n

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://gw") as http:
        long = await http.post("/n", content='{"n": ' + "9" * 5_000 + "}", headers={"Content-Type": "application/json"})
        broken = await http.post("/n", content=b'{"n": "\xff"}', headers={"Content-Type": "application/json"})
    assert long.status_code == 400, long.text
    assert long.json()["message"] == "body: not valid JSON (a number of more than 4300 digits)", long.text
    assert broken.json()["message"] == "body: not valid JSON (not UTF-8 text)", broken.text


async def test_an_audit_detail_holding_what_jsonb_refuses_is_written_all_the_same(state: Any) -> None:
    path = f"/v1/test/{random_id('audit')}"
    detail = {"hours_before": float("nan"), "upper": float("inf"), "text": "a\x00b\ud800c", "bad\x00key": 1}
    await append_audit(
        state.pool, sub="t", role="admin", method="PUT", path=path, status=200, client_ip="192.0.2.1", detail=detail
    )
    stored = json.loads(await state.pool.fetchval("SELECT detail::text FROM audit_log WHERE path = $1", path))
    assert stored == {"hours_before": "nan", "upper": "inf", "text": "a\ufffdb\ufffdc", "bad\ufffdkey": 1}


async def test_an_audit_row_of_a_path_or_name_holding_what_text_refuses_is_written_all_the_same(state: Any) -> None:
    """Trial 14: PUT /v1/committees/%00/alert-rules/… was answered 422 but its audit row was lost
    (audit_write_failed): the path's U+0000 reached PostgreSQL's text. Written as U+FFFD, like the detail's."""
    tag = random_id("audit")
    path = f"/v1/committees/\x00{tag}\ud800/alert-rules/meeting_reminder"
    await append_audit(
        state.pool, sub="s\x00", role="r\ud800", method="PUT", path=path, status=422, client_ip="192.0.2.1", detail=None
    )
    row = await state.pool.fetchrow("SELECT sub, role, path FROM audit_log WHERE path LIKE '%' || $1 || '%'", tag)
    assert (row["sub"], row["role"], row["path"]) == (
        "s\ufffd",
        "r\ufffd",
        f"/v1/committees/\ufffd{tag}\ufffd/alert-rules/meeting_reminder",
    )


async def test_an_audit_row_that_cannot_be_written_is_counted_and_logged_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route_logs_to_stdlib(caplog)

    class Broken:
        async def record(self, entry: AuditEntry) -> None:
            raise OSError("database gone")

    async def changed(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["audit_detail"] = {"rule": "meeting_reminder"}
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    trail = AuditTrail(changed, audit_log=lambda scope: Broken())
    before = REGISTRY.get_sample_value("chibo_audit_write_failures_total", {"method": "PUT"}) or 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=trail), base_url="http://gw") as http:
        assert (await http.put("/v1/committees/c/alert-rules/meeting_reminder", json={})).status_code == 200
    after = REGISTRY.get_sample_value("chibo_audit_write_failures_total", {"method": "PUT"})
    assert after == before + 1
    [line] = [line for line in structured_logs(caplog) if line["event"] == "audit_write_failed"]
    assert line["status"] == 200 and json.loads(line["detail"]) == {"rule": "meeting_reminder"}
    assert "database gone" in line["error"]
