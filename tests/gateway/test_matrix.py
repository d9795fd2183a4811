"""Issue 11: the role × endpoint × inside/outside matrix, generated from the OpenAPI document.

Every operation in /openapi.json must have a row in MATRIX: an endpoint added without one fails
`test_every_operation_has_a_row`. A row says how to call the operation on objects inside the callers' part of
the tree and on objects outside it — named in the path or in the body — and which roles may succeed. Every other
role must be refused: 403 (its role may never do this) or 404 (outside its subtree: the same answer as a missing
thing), or, for ingestion, the event rejected naming the field that points outside. Refused writes must not reach
the services as applied facts.

The callers: a member and the secretary of cell A1, the officer of ward A, the province officer (root), an
integration account scoped to ward A, an operator and an administrator. "Outside" is cell B1 / ward B, which only the
province officer may see.
"""

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from services.gateway.main import create_app
from shared.refusals import RefusalCode
from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.gateway.conftest import TokenFactory, gateway_settings
from tests.gateway.fakes import World
from tests.support.ids import random_id

ROLES = ["member", "secretary", "ward_officer", "province_officer", "integration", "operator", "admin"]
CELL = frozenset({"member", "secretary", "ward_officer", "province_officer"})
ROSTER = frozenset({"secretary", "ward_officer", "province_officer"})
OFFICERS = frozenset({"ward_officer", "province_officer"})
PROVINCE = frozenset({"province_officer"})
NOBODY: frozenset[str] = frozenset()


@dataclass
class Context:
    """What a call is built from: the fake province, the gateway's state, and the caller's role."""

    world: World
    state: GatewayState
    role: str


Request = tuple[str, Any]
"""(the URL, the JSON body or None)."""
Build = Callable[[Context], Awaitable[Request]]


@dataclass(frozen=True)
class Row:
    """One operation: its inside and (when it names objects) outside calls, and who may succeed at each."""

    inside: Build
    allowed: frozenset[str]
    outside: Build | None = None
    outside_allowed: frozenset[str] = field(default=NOBODY)


def call(url: str, body: Any = None) -> Build:
    """A call whose URL is formatted with the world's ids."""

    async def build(ctx: Context) -> Request:
        values = {key: value for key, value in vars(ctx.world).items() if isinstance(value, str)}
        return url.format(**values), body(ctx) if callable(body) else body

    return build


def event_about(parent: str) -> Callable[[Context], Any]:
    """An org.unit.upserted.v1 placing a new cell under the world's `parent` (ward_a or ward_b)."""

    def body(ctx: Context) -> Any:
        return {
            "specversion": "1.0",
            "id": random_id("evt"),
            "source": "urn:test:matrix",
            "type": "org.unit.upserted.v1",
            "time": "2026-11-05T08:00:00+07:00",
            "data": {
                "id": random_id("cell"),
                "name": "Chi bộ mới",
                "kind": "cell",
                "parent_id": getattr(ctx.world, parent),
            },
        }

    return body


def schedule(meeting: str | None) -> Callable[[Context], Any]:
    """A schedule body naming `meeting` (an attribute of the world) or a new meeting id."""

    def body(ctx: Context) -> Any:
        return {
            "meeting_id": getattr(ctx.world, meeting) if meeting else random_id(ctx.world.cell_a1),
            "kind": "regular",
            "starts_at": "2026-12-03T19:00:00+07:00",
            "location": "Nhà văn hóa",
            "agenda": ["Sinh hoạt thường kỳ"],
        }

    return body


def assessment(ctx: Context) -> Any:
    role = "upper_monitor" if ctx.role in OFFICERS else "cell_committee"
    return {"role": role, "points": {"conduct.procedure": 5}}


def notification_of(recipient: str) -> Callable[[World], str]:
    return lambda world: world.notifications[getattr(world, recipient)][0]["notification_id"]


def inbox_read(path_recipient: str, owner: str) -> Build:
    """Mark read a notification of `owner` through the inbox of `path_recipient` (None: the caller's own inbox)."""

    async def build(ctx: Context) -> Request:
        notification = notification_of(owner)(ctx.world)
        if path_recipient == "me":
            return f"/v1/me/inbox/{notification}/read", None
        return f"/v1/committees/{getattr(ctx.world, path_recipient)}/inbox/{notification}/read", None

    return build


def rejection(body: Any) -> Build:
    async def build(ctx: Context) -> Request:
        return f"/v1/rejections/{next(iter(ctx.world.rejections))}/replay", body

    return build


def open_rejection(body: Any) -> Build:
    """A new open rejection to dismiss (the world's first may be replayed or dismissed already)."""

    async def build(ctx: Context) -> Request:
        first = next(iter(ctx.world.rejections.values()))
        rejection_id = random_id("rej")
        ctx.world.rejections[rejection_id] = {**first, "rejection_id": rejection_id, "status": "open"}
        return f"/v1/rejections/{rejection_id}/dismiss", body

    return build


def rescore_job(unit: str) -> Build:
    """A queued rescoring job over the world's `unit` (ward_a or ward_b)."""

    async def build(ctx: Context) -> Request:
        job_id = random_id("job")
        ctx.world.rescore_jobs[job_id] = {
            "job_id": job_id,
            "status": "queued",
            "created_at": "2026-11-05T08:00:00Z",
            "unit_id": getattr(ctx.world, unit),
        }
        return f"/v1/rescore/{job_id}", None

    return build


def throwaway_account() -> Build:
    async def build(ctx: Context) -> Request:
        sub = random_id("gone")
        await ctx.state.accounts.save(sub=sub, role="operator", unit_id=None, person_id=None)
        return f"/v1/accounts/{sub}", None

    return build


def dead_letters(path: str, body: Any = None) -> Build:
    """A call on meetings' dead-letter queue, declared first (the fakes work on the real broker's queues)."""

    async def build(ctx: Context) -> Request:
        await declare_topology(ctx.state.settings.amqp_url, CONSUMER_QUEUES)
        return path, body

    return build


def parked_row(service: str) -> Build:
    async def build(ctx: Context) -> Request:
        row_id = ctx.world.park(service)
        return f"/v1/outbox/{service}/parked/{row_id}/drop", {"reason": "Sự kiện thử nghiệm, không cần gửi"}

    return build


def held_event(action: str) -> Build:
    async def build(ctx: Context) -> Request:
        row = ctx.world.hold()
        body = {"source": row["source"], "event_id": row["event_id"]}
        return f"/v1/held-events/{action}", body | ({"reason": "Nguồn đã hủy sự kiện"} if action == "drop" else {})

    return build


MINUTES = {
    "started_at": "2026-11-04T19:00:00+07:00",
    "ended_at": "2026-11-04T20:45:00+07:00",
    "chair_id": "m1",
    "recorder_id": "m2",
    "speakers": ["m1"],
    "resolutions": [{"text": "Thông qua", "votes_for": 10, "votes_against": 0, "abstentions": 0}],
    "tasks": [],
}
SECRETARY = frozenset({"secretary"})
OPERATOR = frozenset({"operator"})
ADMIN = frozenset({"admin"})


def command(path: str, body: Any, allowed: frozenset[str] = SECRETARY) -> Row:
    """A command on a meeting: meeting A1 inside, meeting B1 outside (the province officer may assess it)."""
    outside_allowed = PROVINCE & allowed
    return Row(
        call(path.format(m="{meeting_a1}"), body), allowed, call(path.format(m="{meeting_b1}"), body), outside_allowed
    )


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/health"): Row(call("/health"), frozenset(ROLES)),
    ("POST", "/v1/events"): Row(
        call("/v1/events", event_about("ward_a")), frozenset({"integration"}), call("/v1/events", event_about("ward_b"))
    ),
    ("POST", "/v1/cells/{cell_id}/meetings"): Row(
        call("/v1/cells/{cell_a1}/meetings", schedule(None)),
        SECRETARY,
        # outside by path (another cell) is in test_commands; here: another cell's meeting named in the body
        call("/v1/cells/{cell_a1}/meetings", schedule("meeting_b1")),
    ),
    ("POST", "/v1/meetings/{meeting_id}/reschedule"): command(
        "/v1/meetings/{m}/reschedule", {"starts_at": "2026-11-04T19:00:00+07:00", "reason": "Trùng lịch"}
    ),
    ("POST", "/v1/meetings/{meeting_id}/cancel"): command("/v1/meetings/{m}/cancel", {"reason": "Bão lớn"}),
    ("POST", "/v1/meetings/{meeting_id}/documents"): command(
        "/v1/meetings/{m}/documents", {"items": [{"title": "Dự thảo nghị quyết", "kind": "draft_resolution"}]}
    ),
    ("PUT", "/v1/meetings/{meeting_id}/attendance"): command(
        "/v1/meetings/{m}/attendance", {"records": [{"member_id": "m1", "status": "present"}]}
    ),
    ("PUT", "/v1/meetings/{meeting_id}/minutes"): command("/v1/meetings/{m}/minutes", MINUTES),
    ("POST", "/v1/meetings/{meeting_id}/minutes/approval"): command(
        "/v1/meetings/{m}/minutes/approval", {"votes_for": 10}
    ),
    ("POST", "/v1/meetings/{meeting_id}/assessments"): command(
        "/v1/meetings/{m}/assessments", assessment, SECRETARY | OFFICERS
    ),
    ("POST", "/v1/meetings/{meeting_id}/tasks/{task_id}/completion"): command(
        "/v1/meetings/{m}/tasks/t-1/completion", {"completed_on": "2026-11-20"}
    ),
    ("GET", "/v1/me"): Row(call("/v1/me"), frozenset(ROLES)),
    ("GET", "/v1/cells/{cell_id}"): Row(call("/v1/cells/{cell_a1}"), CELL, call("/v1/cells/{cell_b1}"), PROVINCE),
    ("GET", "/v1/cells/{cell_id}/members"): Row(
        call("/v1/cells/{cell_a1}/members"), ROSTER, call("/v1/cells/{cell_b1}/members"), PROVINCE
    ),
    ("GET", "/v1/cells/{cell_id}/meetings"): Row(
        call("/v1/cells/{cell_a1}/meetings"), CELL, call("/v1/cells/{cell_b1}/meetings"), PROVINCE
    ),
    ("GET", "/v1/cells/{cell_id}/tasks"): Row(
        call("/v1/cells/{cell_a1}/tasks"), CELL, call("/v1/cells/{cell_b1}/tasks"), PROVINCE
    ),
    ("GET", "/v1/cells/{cell_id}/ratings"): Row(
        call("/v1/cells/{cell_a1}/ratings"), CELL, call("/v1/cells/{cell_b1}/ratings"), PROVINCE
    ),
    ("GET", "/v1/meetings/{meeting_id}"): Row(
        call("/v1/meetings/{meeting_a1}"), CELL, call("/v1/meetings/{meeting_b1}"), PROVINCE
    ),
    ("GET", "/v1/meetings/{meeting_id}/attendance"): Row(
        call("/v1/meetings/{meeting_a1}/attendance"), CELL, call("/v1/meetings/{meeting_b1}/attendance"), PROVINCE
    ),
    ("GET", "/v1/meetings/{meeting_id}/minutes"): Row(
        call("/v1/meetings/{meeting_a1}/minutes"), CELL, call("/v1/meetings/{meeting_b1}/minutes"), PROVINCE
    ),
    ("GET", "/v1/meetings/{meeting_id}/score"): Row(
        call("/v1/meetings/{meeting_a1}/score"), CELL, call("/v1/meetings/{meeting_b1}/score"), PROVINCE
    ),
    ("GET", "/v1/members/{member_id}/history"): Row(
        call("/v1/members/{member_a1}/history"), CELL, call("/v1/members/{member_b1}/history"), PROVINCE
    ),
    ("GET", "/v1/committees/{committee_id}"): Row(
        call("/v1/committees/{ward_a}"), OFFICERS, call("/v1/committees/{ward_b}"), PROVINCE
    ),
    ("GET", "/v1/committees/{committee_id}/units"): Row(
        call("/v1/committees/{ward_a}/units"), OFFICERS, call("/v1/committees/{ward_b}/units"), PROVINCE
    ),
    ("GET", "/v1/committees/{committee_id}/rollup"): Row(
        call("/v1/committees/{ward_a}/rollup?period=2026-11"),
        OFFICERS,
        call("/v1/committees/{ward_b}/rollup?period=2026-11"),
        PROVINCE,
    ),
    ("GET", "/v1/committees/{committee_id}/ranking"): Row(
        call("/v1/committees/{ward_a}/ranking?period=2026"),
        OFFICERS,
        call("/v1/committees/{ward_b}/ranking?period=2026"),
        PROVINCE,
    ),
    ("GET", "/v1/committees/{committee_id}/weakest"): Row(
        call("/v1/committees/{ward_a}/weakest?period=2026-Q4"),
        OFFICERS,
        call("/v1/committees/{ward_b}/weakest?period=2026-Q4"),
        PROVINCE,
    ),
    ("GET", "/v1/me/inbox"): Row(call("/v1/me/inbox"), CELL),
    ("GET", "/v1/me/preferences"): Row(call("/v1/me/preferences"), CELL),
    ("PUT", "/v1/me/preferences"): Row(call("/v1/me/preferences", {"channels": ["email"], "digest": True}), CELL),
    # the member's own notification; outside: another member's notification through one's own inbox
    ("POST", "/v1/me/inbox/{notification_id}/read"): Row(
        inbox_read("me", "member_a1"), frozenset({"member"}), inbox_read("me", "member_b1")
    ),
    ("GET", "/v1/committees/{committee_id}/inbox"): Row(
        call("/v1/committees/{ward_a}/inbox"), OFFICERS, call("/v1/committees/{ward_b}/inbox"), PROVINCE
    ),
    ("GET", "/v1/committees/{committee_id}/alert-rules"): Row(
        call("/v1/committees/{ward_a}/alert-rules"), OFFICERS, call("/v1/committees/{ward_b}/alert-rules"), PROVINCE
    ),
    ("PUT", "/v1/committees/{committee_id}/alert-rules/{rule}"): Row(
        call("/v1/committees/{ward_a}/alert-rules/month_without_meeting", {"enabled": True}),
        OFFICERS,
        call("/v1/committees/{ward_b}/alert-rules/month_without_meeting", {"enabled": True}),
        PROVINCE,
    ),
    # a committee's own delivery is its own officers' only: the province's officer is refused on ward A's (403)
    ("GET", "/v1/committees/{committee_id}/preferences"): Row(
        call("/v1/committees/{ward_a}/preferences"),
        frozenset({"ward_officer"}),
        call("/v1/committees/{ward_b}/preferences"),
    ),
    ("PUT", "/v1/committees/{committee_id}/preferences"): Row(
        call("/v1/committees/{ward_a}/preferences", {"channels": ["email"], "digest": False}),
        frozenset({"ward_officer"}),
        call("/v1/committees/{ward_b}/preferences", {"channels": ["email"], "digest": False}),
    ),
    # outside: ward B's notification named through ward A's inbox (the path is the caller's own)
    ("POST", "/v1/committees/{committee_id}/inbox/{notification_id}/read"): Row(
        inbox_read("ward_a", "ward_a"), OFFICERS, inbox_read("ward_a", "ward_b")
    ),
    ("GET", "/v1/rejections"): Row(call("/v1/rejections"), OPERATOR),
    ("POST", "/v1/rejections/{rejection_id}/replay"): Row(rejection({}), OPERATOR),
    ("POST", "/v1/rejections/{rejection_id}/dismiss"): Row(open_rejection({"reason": "Dữ liệu rác"}), OPERATOR),
    # a dry run: the matrix judges who may, not what a dismissal closes (tests/meetings/test_dismiss_rejections.py)
    ("POST", "/v1/rejections/dismiss"): Row(
        call("/v1/rejections/dismiss", {"code": "source_not_registered", "dry_run": True, "reason": "Dữ liệu rác"}),
        OPERATOR,
    ),
    ("GET", "/v1/dead-letters"): Row(call("/v1/dead-letters"), OPERATOR),
    ("GET", "/v1/system/health"): Row(call("/v1/system/health"), OPERATOR),
    ("GET", "/v1/operations/overview"): Row(call("/v1/operations/overview"), OPERATOR),
    ("GET", "/v1/dead-letters/{queue}"): Row(dead_letters("/v1/dead-letters/meetings.ingest.dlq"), OPERATOR),
    ("POST", "/v1/dead-letters/{queue}/replay"): Row(
        dead_letters("/v1/dead-letters/meetings.ingest.dlq/replay", {}), OPERATOR
    ),
    ("POST", "/v1/dead-letters/{queue}/purge"): Row(
        dead_letters("/v1/dead-letters/meetings.ingest.dlq/purge"), OPERATOR
    ),
    ("GET", "/v1/outbox/{service}/parked"): Row(call("/v1/outbox/evaluation/parked"), OPERATOR),
    ("POST", "/v1/outbox/{service}/parked/replay"): Row(
        call("/v1/outbox/notifications/parked/replay", {"all": True}), OPERATOR
    ),
    ("POST", "/v1/outbox/{service}/parked/{row_id}/drop"): Row(parked_row("meetings"), OPERATOR),
    ("GET", "/v1/held-events"): Row(call("/v1/held-events"), OPERATOR),
    ("POST", "/v1/held-events/retry"): Row(held_event("retry"), OPERATOR),
    ("POST", "/v1/held-events/drop"): Row(held_event("drop"), OPERATOR),
    ("GET", "/v1/deliveries/failed"): Row(call("/v1/deliveries/failed"), OPERATOR),
    ("POST", "/v1/deliveries/{delivery_id}/retry"): Row(call("/v1/deliveries/1/retry"), OPERATOR),
    ("GET", "/v1/frameworks"): Row(call("/v1/frameworks"), ADMIN),
    ("POST", "/v1/frameworks"): Row(
        call("/v1/frameworks", {"document": {"id": "matrix-fw", "version": "1", "criteria": []}}), ADMIN
    ),
    ("GET", "/v1/frameworks/{framework_id}"): Row(call("/v1/frameworks/hd42-2025"), ADMIN),
    # a committee officer re-scores a committee of their subtree; an administrator anywhere
    ("POST", "/v1/rescore"): Row(
        call("/v1/rescore", lambda ctx: {"unit_id": ctx.world.ward_a, "period_from": "2026-01"}),
        ADMIN | OFFICERS,
        call("/v1/rescore", lambda ctx: {"unit_id": ctx.world.ward_b, "period_from": "2026-01"}),
        ADMIN | PROVINCE,
    ),
    ("GET", "/v1/rescore/{job_id}"): Row(
        rescore_job("ward_a"), ADMIN | OFFICERS, rescore_job("ward_b"), ADMIN | PROVINCE
    ),
    ("GET", "/v1/accounts"): Row(call("/v1/accounts"), ADMIN),
    ("POST", "/v1/accounts"): Row(call("/v1/accounts", {"role": "operator"}), ADMIN),
    ("DELETE", "/v1/accounts/{sub}"): Row(throwaway_account(), ADMIN),
    ("GET", "/v1/audit"): Row(call("/v1/audit"), ADMIN | OPERATOR),  # an operator: only operators' actions
    # the public contract: no party data, no token needed
    ("GET", "/v1/schemas"): Row(call("/v1/schemas"), frozenset(ROLES)),
    ("GET", "/v1/schemas/{event_type}"): Row(call("/v1/schemas/member.upserted.v1"), frozenset(ROLES)),
}


def operations() -> set[tuple[str, str]]:
    """Every (method, path) the gateway's OpenAPI document lists."""
    spec = create_app(gateway_settings("amqp://unused", "postgresql://unused")).openapi()
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_every_operation_has_a_row() -> None:
    listed = operations()
    missing = sorted(listed - set(MATRIX))
    assert not missing, f"operations without a row in tests/gateway/test_matrix.py MATRIX: {missing}"
    assert not sorted(set(MATRIX) - listed), "rows for operations that no longer exist"


@pytest.fixture(scope="module")
async def callers(
    headers: dict[str, dict[str, str]], token_for: TokenFactory, world: World
) -> dict[str, dict[str, str]]:
    """The package's callers, with the integration account scoped to ward A (as a commune's feed is)."""
    return {**headers, "integration": await token_for("integration", world.ward_a, sources=("urn:test:matrix",))}


def succeeded(method: str, path: str, response: httpx.Response) -> bool:
    """A success; for ingestion, every event accepted (a rejection naming a field is the refusal)."""
    if response.status_code >= 400:
        return False
    if (method, path) == ("POST", "/v1/events"):
        return all(result["outcome"] != "rejected" for result in response.json()["results"])
    return True


def refused(method: str, path: str, response: httpx.Response) -> bool:
    """403 for a role that may never, 404 for outside the subtree, or an ingested event held (as for an unknown
    parent: the answer must not tell that the parent exists elsewhere) naming the field; a schedule under another
    cell's meeting id is the 422 of any id not the cell's to choose (meeting_id_not_cells), judged before any
    lookup."""
    if (method, path) == ("POST", "/v1/events") and response.status_code == 200:
        # the field naming the object outside the account's subtree
        return all(
            (result["outcome"], result["field"]) == ("held", "data.parent_id") and "outside" not in result["reason"]
            for result in response.json()["results"]
        )
    if (method, path) == ("POST", "/v1/cells/{cell_id}/meetings") and response.status_code == 422:
        return response.json().get("reason_code") == RefusalCode.MEETING_ID_NOT_CELLS
    return response.status_code in (403, 404) and response.json()["code"] in ("forbidden", "not_found")


CASES = [
    pytest.param(operation, place, role, id=f"{operation[0]} {operation[1]} {place} {role}")
    for operation, row in MATRIX.items()
    for place in ("inside", "outside")
    if place == "inside" or row.outside is not None
    for role in ROLES
]


@pytest.mark.parametrize(("operation", "place", "role"), CASES)
async def test_role_endpoint_inside_outside(
    client: httpx.AsyncClient,
    callers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    operation: tuple[str, str],
    place: str,
    role: str,
) -> None:
    method, path = operation
    row = MATRIX[operation]
    build = row.inside if place == "inside" else row.outside
    assert build is not None
    allowed = row.allowed if place == "inside" else row.outside_allowed
    url, body = await build(Context(world, state, role))
    headers = dict(callers[role])
    content = None
    if body is not None:
        content = json.dumps(body)
        headers["Content-Type"] = "application/cloudevents+json" if path == "/v1/events" else "application/json"
    written = len(world.ingested)
    response = await client.request(method, url, content=content, headers=headers)
    if role in allowed:
        assert succeeded(method, path, response), response.text
    else:
        assert refused(method, path, response), (response.status_code, response.text)
        if method != "GET":
            assert len(world.ingested) == written, "a refused write reached meetings as an applied fact"
