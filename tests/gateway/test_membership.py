"""An account is checked when it is made (its person a member of the cell, a secretary's its secretary or deputy),
but an account recorded before kept working after its person left the cell (transferred, removed by a member
snapshot) or stepped down: a member who left still read their old cell's inbox, a secretary who left still wrote.
Every request of a member's or secretary's token or web session now asks meetings whether the account still stands
(membership.MembershipCheck, cached briefly): the API answers 403 naming why, the web signs the person out saying why
in Vietnamese; while meetings cannot say, a command is refused (503) and a read goes on with the last answer known."""

import argparse
import asyncio
import contextlib
import html
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cachetools import TTLCache

from services.gateway.auth import Principal, Role
from services.gateway.bootstrap import GatewayState
from services.gateway.config import GatewaySettings
from services.gateway.handlers import create_account
from services.gateway.kept import KeptCopies
from services.gateway.main import create_app
from services.gateway.membership import MembershipCheck
from services.gateway.web import cli as web_cli
from shared.contracts.meetings_rpc import GetMember, MemberReply
from shared.rpc import Request, RpcError, ServiceUnavailable
from tests.gateway.conftest import RPC_TIMEOUT, gateway_settings, issue_token
from tests.gateway.fakes import FakeServices, World
from tests.support.running import eventually
from tests.support.web import csrf_of, sign_in

CELL = "cell-1"
PASSWORD = "mật-khẩu-thử-2026"
SIGNED_OUT_LEFT = (
    "Tài khoản này không còn dùng được vì đồng chí không còn trong danh sách đảng viên của chi bộ (đã chuyển sinh"
    " hoạt đảng hoặc đã ra khỏi danh sách), nên hệ thống đã đăng xuất."
)
SIGNED_OUT_POSITION = (
    "Tài khoản này không còn dùng được vì đồng chí không còn giữ chức bí thư hoặc phó bí thư chi bộ, nên hệ thống đã"
    " đăng xuất."
)
SIGN_IN_LEFT = (
    "Không đăng nhập được: tài khoản này không còn dùng được vì đồng chí không còn trong danh sách đảng viên của chi"
    " bộ (đã chuyển sinh hoạt đảng hoặc đã ra khỏi danh sách)."
)
SIGN_IN_POSITION = (
    "Không đăng nhập được: tài khoản này không còn dùng được vì đồng chí không còn giữ chức bí thư hoặc phó bí thư"
    " chi bộ."
)
SIGN_IN_NO_PERSON = "Không đăng nhập được: tài khoản này chưa được gắn với đảng viên nào của chi bộ."
SIGN_IN_UNCHECKED = (
    "Chưa đăng nhập được: dịch vụ sinh hoạt chi bộ đang không phản hồi nên chưa xác nhận được đồng chí còn thuộc chi"
    " bộ của tài khoản này."
)


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeMeetings:
    """meetings' GetMember from a dict {(cell, person): position}; `silent` makes every call wait `wait` seconds and
    be ServiceUnavailable, as the RPC client is when meetings does not answer; `calls` counts the calls."""

    def __init__(self, listed: dict[tuple[str, str], str]) -> None:
        self.listed = listed
        self.silent = False
        self.wait = 0.0
        self.calls = 0
        self.answer = asyncio.Event()
        self.answer.set()

    async def call(
        self, request: Request[Any], *, correlation_id: str | None = None, timeout: float | None = None
    ) -> Any:
        """GetMember's answer, not_found for a person the cell does not list."""
        assert isinstance(request, GetMember)
        self.calls += 1
        await self.answer.wait()
        if self.silent:
            await asyncio.sleep(min(self.wait, timeout or self.wait))
            raise ServiceUnavailable("meetings")
        position = self.listed.get((request.cell_id, request.member_id))
        if position is None:
            raise RpcError("not_found", f"no member {request.member_id} in cell {request.cell_id}", field="member_id")
        return MemberReply(id=request.member_id, full_name="Nguyễn Văn An", status="official", role=position)


def who(role: Role, person: str | None, unit: str | None = CELL) -> Principal:
    """A principal of `role` at `unit` for `person`."""
    return Principal(sub=f"{role.value}-{person}", role=role, unit_id=unit, person_id=person, local=True)


def check(meetings: FakeMeetings, clock: Clock, *, read_timeout: float = 0.2) -> MembershipCheck:
    """A MembershipCheck over the fake meetings: answers kept 30 s, reads waiting `read_timeout`, failures kept 10 s."""
    return MembershipCheck(meetings, seconds=30.0, read_timeout=read_timeout, retry_seconds=10.0, timer=clock)


async def test_a_member_who_left_is_refused_once_the_kept_answer_is_older_than_its_time() -> None:
    meetings, clock = FakeMeetings({(CELL, "dv1"): "member"}), Clock()
    standing = check(meetings, clock)
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None
    del meetings.listed[(CELL, "dv1")]  # transferred: the cell lists them no more
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=True) is None  # the answer kept 30 s
    assert meetings.calls == 1
    clock.now += 31
    refused = await standing.refusal(who(Role.MEMBER, "dv1"), command=False)
    assert refused is not None and refused.reason == "left"
    assert refused.message.startswith(f"this member account no longer stands: dv1 is not a member of {CELL} today")
    assert meetings.calls == 2


async def test_a_secretary_stands_as_secretary_or_deputy_and_not_once_back_in_the_ranks() -> None:
    meetings, clock = FakeMeetings({(CELL, "dv1"): "secretary", (CELL, "dv2"): "deputy_secretary"}), Clock()
    standing = check(meetings, clock)
    assert await standing.refusal(who(Role.SECRETARY, "dv1"), command=True) is None
    assert await standing.refusal(who(Role.SECRETARY, "dv2"), command=True) is None
    meetings.listed[(CELL, "dv1")] = "member"  # a new member snapshot: no longer the secretary
    clock.now += 31
    refused = await standing.refusal(who(Role.SECRETARY, "dv1"), command=True)
    assert refused is not None and refused.reason == "position"
    assert f"dv1 is listed by {CELL} as member, not as its secretary or deputy secretary" in refused.message
    # the same person's member account still stands: they are a member of the cell
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=True) is None


async def test_roles_without_a_cells_person_are_not_asked_about() -> None:
    meetings, clock = FakeMeetings({}), Clock()
    standing = check(meetings, clock)
    for principal in (
        who(Role.COMMITTEE_OFFICER, "uv1"),
        who(Role.COMMITTEE_OFFICER, None),  # an officer without a person by design (a committee's office)
        who(Role.OPERATOR, None, None),
        who(Role.INTEGRATION, None),
    ):
        assert await standing.refusal(principal, command=True) is None
    assert meetings.calls == 0


async def test_a_member_or_secretary_account_naming_no_person_is_refused_without_asking() -> None:
    meetings, clock = FakeMeetings({}), Clock()
    standing = check(meetings, clock)
    for role in (Role.MEMBER, Role.SECRETARY):
        for command in (False, True):
            refused = await standing.refusal(who(role, None), command=command)
            assert refused is not None and refused.reason == "no_person", (role, command)
            assert refused.message.startswith(f"this {role.value} account names no person (person_id)")
    assert meetings.calls == 0


async def test_requests_of_one_person_at_once_ask_meetings_once() -> None:
    meetings, clock = FakeMeetings({(CELL, "dv1"): "member"}), Clock()
    standing = check(meetings, clock, read_timeout=30.0)
    meetings.answer.clear()
    asked = [asyncio.ensure_future(standing.refusal(who(Role.MEMBER, "dv1"), command=n % 2 == 0)) for n in range(20)]
    await eventually(lambda: meetings.calls == 1, timeout=5, interval=0.01)
    meetings.answer.set()
    assert await asyncio.gather(*asked) == [None] * 20
    assert meetings.calls == 1


async def test_while_meetings_is_silent_a_command_is_refused_and_a_read_goes_on_with_the_last_answer() -> None:
    meetings, clock = FakeMeetings({(CELL, "dv1"): "member"}), Clock()
    standing = check(meetings, clock)
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None
    assert await standing.refusal(who(Role.MEMBER, "gone"), command=False) is not None
    clock.now += 31
    meetings.silent, meetings.wait = True, 0.05
    with pytest.raises(ServiceUnavailable):  # fail closed: never let through unchecked
        await standing.refusal(who(Role.MEMBER, "dv1"), command=True)
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None  # its last answer: stands
    refused = await standing.refusal(who(Role.MEMBER, "gone"), command=False)
    assert refused is not None and refused.reason == "left"  # its last answer: left, still refused
    # a person never asked about: nothing says the account stands, so after the short wait a read is refused too
    # (ServiceUnavailable naming meetings), never let through unchecked; the call already under way is shared
    meetings.wait = 5.0
    with pytest.raises(ServiceUnavailable) as silence:
        await standing.refusal(who(Role.MEMBER, "new"), command=False)
    assert silence.value.service == "meetings"
    calls = meetings.calls
    with pytest.raises(ServiceUnavailable):
        await standing.refusal(who(Role.MEMBER, "new"), command=False)
    assert meetings.calls == calls  # joined the lookup under way, not a second call
    with pytest.raises(ServiceUnavailable):  # a command is refused alike
        await standing.refusal(who(Role.MEMBER, "new"), command=True)
    # once meetings answers again, the person unknown so far is asked and goes on
    meetings.silent, meetings.wait = False, 0.0
    meetings.listed[(CELL, "new")] = "member"

    async def stands() -> bool:
        try:
            return await standing.refusal(who(Role.MEMBER, "new"), command=False) is None
        except ServiceUnavailable:
            return False

    await eventually(stands, timeout=10, interval=0.05)


KEPT_SECONDS = 600.0
"""The age cap of the last answers the age tests keep (the setting: membership_kept_seconds)."""


async def test_a_last_answer_older_than_its_cap_lets_no_read_through() -> None:
    """The last answer had no age: a member moved or removed long before meetings went down still read their old cell
    on it for as long as meetings stayed down. Past `kept_seconds` after meetings gave it, a read is refused as for a
    person never checked (ServiceUnavailable naming meetings, saying why), as a unit's kept copy past its cap is."""
    meetings, clock = FakeMeetings({(CELL, "dv1"): "member"}), Clock()
    standing = MembershipCheck(
        meetings, seconds=30.0, read_timeout=0.2, retry_seconds=10.0, kept_seconds=KEPT_SECONDS, timer=clock
    )
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None  # answered at 1000 s
    meetings.silent = True  # no wait: the fake's silence is at once
    clock.now += KEPT_SECONDS - 1  # long past fresh, still young enough
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None
    clock.now += 2  # the answer is KEPT_SECONDS + 1 old; the failure just noted (retry_seconds) is still kept
    with pytest.raises(ServiceUnavailable) as silence:
        await standing.refusal(who(Role.MEMBER, "dv1"), command=False)
    assert silence.value.service == "meetings"
    assert "last answer that this account stands only while that answer is at most 600 s old" in str(silence.value)
    # meetings back: its answer is a new one, and the read goes on
    meetings.silent = False
    assert await standing.refusal(who(Role.MEMBER, "dv1"), command=False) is None


# ---- through the gateway: the API and the web app ---------------------------------------------------------------


@pytest.fixture
async def gateway(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState, GatewaySettings]]:
    """A gateway of the test's own whose membership answers are kept 0.3 s (CHIBO_MEMBERSHIP_CACHE_SECONDS), so a
    person's leaving counts within the test; its client, state and settings."""
    async with own_gateway(amqp_url, database_url, cache_seconds=0.3, peer=("203.0.113.8", 4712)) as running:
        yield running


@contextlib.asynccontextmanager
async def own_gateway(
    amqp_url: str, database_url: str, *, cache_seconds: float, peer: tuple[str, int]
) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState, GatewaySettings]]:
    """A gateway keeping membership answers `cache_seconds`, and a client of it from `peer`: client, state, settings."""
    settings = gateway_settings(amqp_url, database_url, membership_cache_seconds=cache_seconds)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=peer)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as client:
            yield client, app.state.gateway, settings


async def account_token(client: httpx.AsyncClient, state: GatewayState, body: dict[str, Any]) -> dict[str, str]:
    """The Authorization header of an account made through `POST /v1/accounts` (its checks and all) by an admin."""
    admin = {"Authorization": f"Bearer {await issue_token(state, 'admin')}"}
    made = await client.post("/v1/accounts", json=body, headers=admin)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def test_a_token_of_a_member_or_secretary_who_left_is_refused_with_403_naming_why(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World
) -> None:
    client, state, _ = gateway
    member, secretary = world.new_member(world.cell_a1), world.new_member(world.cell_a1, "secretary")
    reader = await account_token(client, state, {"role": "member", "unit_id": world.cell_a1, "person_id": member})
    writer = await account_token(client, state, {"role": "secretary", "unit_id": world.cell_a1, "person_id": secretary})
    assert (await client.get("/v1/me/inbox", headers=reader)).status_code == 200
    assert (await client.get(f"/v1/cells/{world.cell_a1}/members", headers=writer)).status_code == 200
    world.remove_member(world.cell_a1, member)  # transferred
    world.add_member(world.cell_a1, secretary, "member")  # stepped down, still a member of the cell

    async def refused(headers: dict[str, str], method: str, path: str, **sent: Any) -> httpx.Response | None:
        answer = await client.request(method, path, headers=headers, **sent)
        return answer if answer.status_code == 403 else None

    inbox = await eventually(lambda: refused(reader, "GET", "/v1/me/inbox"), timeout=30)
    assert inbox.json()["code"] == "forbidden", inbox.text
    assert inbox.json()["message"].startswith(
        f"this member account no longer stands: {member} is not a member of {world.cell_a1} today"
    ), inbox.text
    meeting = {
        "kind": "regular",
        "starts_at": "2099-12-04T19:30:00+07:00",
        "location": "Nhà văn hóa",
        "agenda": ["Sinh hoạt thường kỳ"],
    }
    before = len(world.ingested)
    wrote = await eventually(
        lambda: refused(writer, "POST", f"/v1/cells/{world.cell_a1}/meetings", json=meeting), timeout=30
    )
    assert f"{secretary} is listed by {world.cell_a1} as member, not as its secretary" in wrote.json()["message"]
    assert len(world.ingested) == before  # nothing reached meetings


async def test_while_meetings_is_silent_a_members_command_is_503_and_a_read_goes_on(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state, _ = gateway
    member = world.new_member(world.cell_a1)
    reader = await account_token(client, state, {"role": "member", "unit_id": world.cell_a1, "person_id": member})
    assert (await client.get("/v1/me/inbox", headers=reader)).status_code == 200  # stands: answer kept
    silent = FakeMeetings({})
    silent.silent, silent.wait = True, 0.5
    monkeypatch.setattr(state.membership, "_rpc", silent)
    await asyncio.sleep(0.4)  # the kept answer (0.3 s) is past its time: meetings must be asked again
    read = await client.get("/v1/me/inbox", headers=reader)
    assert read.status_code == 200, read.text  # the inbox is notifications': read as before, on the last answer
    chosen = {"channels": ["email", "inbox"], "digest": True}
    marked = await client.put("/v1/me/preferences", json=chosen, headers=reader)
    assert marked.status_code == 503 and marked.json()["service"] == "meetings", marked.text


async def test_a_web_session_of_a_person_who_left_is_signed_out_saying_why_in_vietnamese(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World
) -> None:
    client, state, settings = gateway
    for reason in ("left", "position"):
        role = "member" if reason == "left" else "secretary"
        person = world.new_member(world.cell_a1, role)
        sub = f"roi-{uuid.uuid4().hex[:8]}"
        await sign_in(client, settings, sub=sub, role=role, unit=world.cell_a1, person=person, password=PASSWORD)
        page = f"/app/cells/{world.cell_a1}"
        assert (await client.get(page)).status_code == 200
        session = client.cookies.get("chibo_session", path="/app")
        if reason == "left":
            world.remove_member(world.cell_a1, person)
        else:
            world.add_member(world.cell_a1, person, "member")

        async def signed_out(page: str = page) -> httpx.Response | None:
            answer = await client.get(page)
            return answer if answer.status_code == 303 else None

        ended = await eventually(signed_out, timeout=30)
        assert ended.headers["location"] == "/app/sign-in", ended.headers
        shown = await client.get("/app/sign-in")
        said = SIGNED_OUT_LEFT if reason == "left" else SIGNED_OUT_POSITION
        assert said in html.unescape(shown.text), shown.text[-3000:]
        assert said not in html.unescape((await client.get("/app/sign-in")).text)  # said once
        # the session is closed server side: its cookie sent again is no session at all
        assert await state.pool.fetchval("SELECT count(*) FROM gateway.web_session WHERE sub = $1", sub) == 0
        client.cookies.clear()
        client.cookies.set("chibo_session", session or "")
        again = await client.get(page)
        assert again.status_code == 303 and again.headers["location"].startswith("/app/sign-in?next="), again.headers
        client.cookies.clear()


async def test_a_member_or_secretary_account_without_a_person_is_refused_when_made_and_on_every_request(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World
) -> None:
    client, state, _ = gateway
    admin = {"Authorization": f"Bearer {await issue_token(state, 'admin')}"}
    for role in ("member", "secretary"):
        made = await client.post("/v1/accounts", json={"role": role, "unit_id": world.cell_a1}, headers=admin)
        assert made.status_code == 422 and made.json()["field"] == "person_id", made.text
        assert made.json()["message"].startswith(f"person_id: a {role} account stands for one member of its cell")
        # one recorded before the rule (no check): refused on every request, naming why
        _, token = await create_account(
            state.accounts,
            secret=state.secret,
            issuer=state.settings.jwt_issuer,
            sub=f"{role}-{uuid.uuid4().hex[:8]}",
            role=Role(role),
            unit_id=world.cell_a1,
            person_id=None,
            days=1,
            max_days=state.settings.token_max_days,
        )
        read = await client.get(f"/v1/cells/{world.cell_a1}/members", headers={"Authorization": f"Bearer {token}"})
        assert read.status_code == 403 and read.json()["code"] == "forbidden", read.text
        assert read.json()["message"].startswith(f"this {role} account names no person (person_id)"), read.text
    # an officer with no person by design still works
    officer = {"Authorization": f"Bearer {await issue_token(state, 'committee_officer', world.ward_a)}"}
    assert (await client.get(f"/v1/committees/{world.ward_a}", headers=officer)).status_code == 200


async def test_a_read_of_a_person_never_checked_while_meetings_is_silent_is_503_naming_meetings(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state, _ = gateway
    member = world.new_member(world.cell_a1)
    reader = await account_token(client, state, {"role": "member", "unit_id": world.cell_a1, "person_id": member})
    silent = FakeMeetings({})
    silent.silent, silent.wait = True, 0.5
    monkeypatch.setattr(state.membership, "_rpc", silent)  # before the account's first request: no answer known
    read = await client.get("/v1/me/inbox", headers=reader)
    assert read.status_code == 503 and read.json()["service"] == "meetings", read.text


async def test_past_the_cap_a_members_read_and_page_are_503_to_try_again_with_retry_after(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the gateway, on the test's clock: the member's last answer lets their reads through while meetings is
    silent for `membership_kept_seconds` after meetings gave it; past that the API's read is a 503 naming meetings and
    why, the page the Vietnamese "try again" page, both with Retry-After (they were 200 on the older answer)."""
    client, state, settings = gateway
    clock = Clock()
    monkeypatch.setattr(
        state,
        "membership",
        MembershipCheck(
            state.rpc,
            seconds=settings.membership_cache_seconds,
            read_timeout=settings.person_name_timeout,
            retry_seconds=settings.person_name_retry_seconds,
            kept_seconds=KEPT_SECONDS,
            timer=clock,
        ),
    )
    person = world.new_member(world.cell_a1)
    reader = await account_token(client, state, {"role": "member", "unit_id": world.cell_a1, "person_id": person})
    sub = await web_account(settings, "member", world.cell_a1, person)
    page_of_cell = f"/app/cells/{world.cell_a1}"
    assert (await sign_in_as(client, sub)).status_code == 303
    assert (await client.get("/v1/me/inbox", headers=reader)).status_code == 200  # the answers kept at 1000 s
    assert (await client.get(page_of_cell)).status_code == 200
    silent = FakeMeetings({})
    silent.silent = True
    monkeypatch.setattr(state.membership, "_rpc", silent)
    clock.now += KEPT_SECONDS - 1
    assert (await client.get("/v1/me/inbox", headers=reader)).status_code == 200  # young enough: goes on
    assert (await client.get(page_of_cell)).status_code == 200
    clock.now += 2
    read = await client.get("/v1/me/inbox", headers=reader)
    page = await client.get(page_of_cell)
    assert read.status_code == 503 and read.json()["service"] == "meetings", read.text
    assert "at most 600 s old" in read.json()["message"], read.text
    assert read.headers["Retry-After"] == "5"
    assert page.status_code == 503, page.text[-2000:]
    said = html.unescape(page.text)
    assert "Tạm thời chưa kết nối được với" in said and "vui lòng thử lại sau ít phút." in said, said[-2000:]
    assert page.headers["Retry-After"] == "5"
    client.cookies.clear()


async def sign_in_as(client: httpx.AsyncClient, sub: str) -> httpx.Response:
    """The answer to the sign-in form sent with `sub`'s password (PASSWORD), the form's CSRF token and all."""
    form = (await client.get("/app/sign-in")).text
    return await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})


async def web_account(settings: GatewaySettings, role: str, unit: str, person: str | None) -> str:
    """The username of a web account recorded without the command's checks (as one recorded before them)."""
    sub = f"web-{uuid.uuid4().hex[:8]}"
    args = argparse.Namespace(
        sub=sub, role=role, unit=unit, person=person, password=PASSWORD, oidc_subject=None, oidc_email=None
    )
    await web_cli.create_web_account(settings, args)
    return sub


async def test_signing_in_as_a_person_who_left_or_stepped_down_or_as_no_person_is_refused_saying_why(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World
) -> None:
    client, state, settings = gateway
    left, stepped_down = world.new_member(world.cell_a1), world.new_member(world.cell_a1, "secretary")
    cases = {
        "left": (await web_account(settings, "member", world.cell_a1, left), SIGN_IN_LEFT),
        "position": (await web_account(settings, "secretary", world.cell_a1, stepped_down), SIGN_IN_POSITION),
        "no_person": (await web_account(settings, "member", world.cell_a1, None), SIGN_IN_NO_PERSON),
    }
    world.remove_member(world.cell_a1, left)
    world.add_member(world.cell_a1, stepped_down, "member")  # none of them asked about before: nothing kept
    for reason, (sub, said) in cases.items():
        refused = await sign_in_as(client, sub)
        assert refused.status_code == 403, (reason, refused.text[-2000:])
        assert said in html.unescape(refused.text), (reason, refused.text[-2000:])
        assert client.cookies.get("chibo_session", path="/app") is None, reason
        assert await state.pool.fetchval("SELECT count(*) FROM gateway.web_session WHERE sub = $1", sub) == 0
    # a member who stands, and an officer with no person by design, sign in as before
    stands = await web_account(settings, "member", world.cell_a1, world.new_member(world.cell_a1))
    officer = await web_account(settings, "committee_officer", world.ward_a, None)
    for sub in (stands, officer):
        signed = await sign_in_as(client, sub)
        assert signed.status_code == 303, signed.text[-2000:]
        client.cookies.clear()


async def test_signing_in_while_meetings_cannot_say_is_refused_asking_to_try_again(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state, settings = gateway
    sub = await web_account(settings, "member", world.cell_a1, world.new_member(world.cell_a1))
    silent = FakeMeetings({})
    silent.silent, silent.wait = True, 0.5
    monkeypatch.setattr(state.membership, "_rpc", silent)
    refused = await sign_in_as(client, sub)
    assert refused.status_code == 503, refused.text[-2000:]
    assert SIGN_IN_UNCHECKED in html.unescape(refused.text), refused.text[-2000:]
    assert await state.pool.fetchval("SELECT count(*) FROM gateway.web_session WHERE sub = $1", sub) == 0


async def test_a_page_of_a_person_with_no_answer_known_while_meetings_is_silent_is_a_503_to_try_again(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, state, settings = gateway
    sub = await web_account(settings, "member", world.cell_a1, world.new_member(world.cell_a1))
    assert (await sign_in_as(client, sub)).status_code == 303
    silent = FakeMeetings({})
    silent.silent, silent.wait = True, 0.5
    # as after the gateway restarted while meetings is down: nothing known of the person
    monkeypatch.setattr(state.membership, "_rpc", silent)
    monkeypatch.setattr(state.membership, "_fresh", TTLCache(10, ttl=30))
    monkeypatch.setattr(state.membership, "_last", KeptCopies(seconds=3600.0, max_entries=10))
    page = await client.get("/app/me")
    assert page.status_code == 503, page.text[-2000:]
    said = html.unescape(page.text)
    assert "Tạm thời chưa kết nối được với" in said and "vui lòng thử lại sau ít phút." in said, said[-2000:]
    client.cookies.clear()


async def test_a_fresh_ask_passes_the_kept_answer_and_keeps_what_it_heard() -> None:
    meetings, clock = FakeMeetings({(CELL, "dv1"): "secretary"}), Clock()
    standing = check(meetings, clock)
    assert await standing.refusal(who(Role.SECRETARY, "dv1"), command=False) is None  # kept 30 s
    meetings.listed[(CELL, "dv1")] = "member"  # stepped down a moment later
    refused = await standing.refusal(who(Role.SECRETARY, "dv1"), command=False, fresh=True)
    assert refused is not None and refused.reason == "position" and meetings.calls == 2
    again = await standing.refusal(who(Role.SECRETARY, "dv1"), command=True)  # the kept answer is the new one
    assert again == refused and meetings.calls == 2


@pytest.fixture
async def gateway_keeping_answers(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> AsyncIterator[tuple[httpx.AsyncClient, GatewayState, GatewaySettings]]:
    """A gateway of the test's own keeping membership answers 30 s (the default): its client, state and settings."""
    async with own_gateway(amqp_url, database_url, cache_seconds=30.0, peer=("203.0.113.9", 4713)) as running:
        yield running


async def test_signing_in_asks_meetings_afresh_not_the_answer_kept_for_requests(
    gateway_keeping_answers: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World
) -> None:
    client, _, settings = gateway_keeping_answers
    member, secretary = world.new_member(world.cell_a1), world.new_member(world.cell_a1, "secretary")
    left, demoted = [
        await web_account(settings, role, world.cell_a1, person)
        for role, person in (("member", member), ("secretary", secretary))
    ]
    cases = {"left": (left, SIGN_IN_LEFT), "position": (demoted, SIGN_IN_POSITION)}
    for sub, _ in cases.values():  # signed in once: their standing is kept 30 s for the requests after
        signed = await sign_in_as(client, sub)
        assert signed.status_code == 303, signed.text[-2000:]
        client.cookies.clear()
    world.remove_member(world.cell_a1, member)  # transferred a moment later
    world.add_member(world.cell_a1, secretary, "member")  # demoted a moment later
    for reason, (sub, said) in cases.items():
        refused = await sign_in_as(client, sub)
        assert refused.status_code == 403, (reason, refused.text[-2000:])
        assert said in html.unescape(refused.text), (reason, refused.text[-2000:])
        client.cookies.clear()


async def test_signing_in_never_goes_on_with_a_kept_answer_and_gives_a_gone_meetings_up_after_the_short_wait() -> None:
    """With meetings killed, a secretary signed in on the last answer kept (the read's fall-back, logged
    membership_not_checked): signing in is when a member moved or removed must lose access, so a `fresh` ask needs
    meetings' answer now. Past `read_timeout` it asks the broker: meetings gone, ServiceUnavailable at once (not
    after the RPC timeout, the fake's 30 s); meetings there but slow, it waits for its answer. A read keeps its kept
    answer."""
    meetings, clock = FakeMeetings({(CELL, "dv1"): "secretary"}), Clock()
    present = True
    asked = 0

    async def gone() -> bool:
        nonlocal asked
        asked += 1
        return not present

    standing = MembershipCheck(
        meetings, seconds=30.0, read_timeout=0.05, retry_seconds=10.0, kept_seconds=KEPT_SECONDS, timer=clock, gone=gone
    )
    secretary = who(Role.SECRETARY, "dv1")
    assert await standing.refusal(secretary, command=False, fresh=True) is None  # signed in: the answer kept
    assert asked == 0  # meetings answered within the short wait: the broker is not asked
    clock.now += 31  # past fresh, well within the kept cap
    meetings.silent, meetings.wait, present = True, 30.0, False  # killed: the RPC client's timeout would be 30 s
    with pytest.raises(ServiceUnavailable) as silence:
        await asyncio.wait_for(standing.refusal(secretary, command=False, fresh=True), 10)
    assert silence.value.service == "meetings" and asked == 1
    with pytest.raises(ServiceUnavailable):  # a command alike, without the RPC timeout
        await asyncio.wait_for(standing.refusal(secretary, command=True), 10)
    assert await standing.refusal(secretary, command=False) is None  # a read of the session: the kept answer
    # meetings there but slow: the sign-in waits past the short wait for its answer
    meetings.silent, present = False, True
    meetings.answer.clear()
    slow = asyncio.ensure_future(standing.refusal(secretary, command=False, fresh=True))
    await eventually(lambda: asked == 3, timeout=10, interval=0.01)
    assert not slow.done()
    meetings.answer.set()
    assert await asyncio.wait_for(slow, 10) is None
    for left in asyncio.all_tasks():  # the killed meetings' lookup, still in its 30 s silence
        if left.get_coro().__name__ == "_ask":  # type: ignore[union-attr]
            left.cancel()


async def test_signing_in_with_meetings_stopped_is_the_try_again_page_even_with_an_answer_kept(
    gateway: tuple[httpx.AsyncClient, GatewayState, GatewaySettings], world: World, fakes: FakeServices
) -> None:
    """A trial killed meetings and signed `bi-thu-thon-1` in on the gateway's last answer. Signing in now fails closed:
    the Vietnamese try-again page with Retry-After, no session, soon after the short wait (the broker says no meetings
    process is there), not after the RPC timeout."""
    client, state, settings = gateway
    sub = await web_account(settings, "secretary", world.cell_a1, world.new_member(world.cell_a1, "secretary"))
    assert (await sign_in_as(client, sub)).status_code == 303  # its standing kept for the requests after
    client.cookies.clear()
    sessions = await state.pool.fetchval("SELECT count(*) FROM gateway.web_session WHERE sub = $1", sub)
    async with fakes.meetings.down():
        form = (await client.get("/app/sign-in")).text
        started = time.monotonic()
        refused = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
        took = time.monotonic() - started
    assert refused.status_code == 503, refused.text[-2000:]
    assert SIGN_IN_UNCHECKED in html.unescape(refused.text), refused.text[-2000:]
    assert refused.headers["Retry-After"] == "5"
    assert took < RPC_TIMEOUT, took
    assert await state.pool.fetchval("SELECT count(*) FROM gateway.web_session WHERE sub = $1", sub) == sessions
