"""Body size, batch size and per-token rate limits, each with its own small gateway."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from services.gateway.auth import Role
from services.gateway.handlers import create_account
from services.gateway.limits import RateLimiter, SignInDelays, SignInThrottle, throttled_address
from services.gateway.main import create_app
from services.gateway.web.sessions import WebAccounts
from tests.gateway.conftest import gateway_settings
from tests.gateway.fakes import FakeServices


def test_the_rate_limiter_refills_over_time() -> None:
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, clock=lambda: now[0])
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    wait = limiter.take("a")
    assert 0.9 < wait <= 1.0 and RateLimiter.retry_after(wait) == "1"
    assert limiter.take("b") == 0  # buckets are per token
    now[0] += 1.0
    assert limiter.take("a") == 0


@asynccontextmanager
async def _throttles(
    amqp_url: str, database_url: str, *, replicas: int = 1, **limits: Any
) -> AsyncIterator[list[SignInThrottle]]:
    """The sign-in throttles of `replicas` gateways on one database, each as its lifespan wires it; `limits` are
    the `web_sign_in_*` settings without their prefix (generous unless given)."""
    settings = {"account_limit": "1000/minute", "address_limit": "1000/minute", **limits}
    async with AsyncExitStack() as stack:
        throttles = []
        for _ in range(replicas):
            app = create_app(
                gateway_settings(
                    amqp_url, database_url, **{f"web_sign_in_{name}": value for name, value in settings.items()}
                )
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            throttles.append(app.state.gateway.sign_in)
        yield throttles


def _unique() -> tuple[str, str]:
    """A name and an address no other test uses (the attempts live in the shared test database)."""
    tag = secrets.token_hex(4)
    return f"officer-{tag}", f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250)}-{tag}"


async def _fail(throttle: SignInThrottle, username: str, client_ip: str) -> None:
    wait, attempt = await throttle.begin(username, client_ip)
    assert wait == 0 and attempt
    await throttle.end(username, client_ip, attempt, ok=False)


async def _succeed(throttle: SignInThrottle, username: str, client_ip: str) -> None:
    wait, attempt = await throttle.begin(username, client_ip)
    assert wait == 0 and attempt
    await throttle.end(username, client_ip, attempt, ok=True)


def test_the_delays_of_a_pair_grow_after_the_free_failures_up_to_the_longest() -> None:
    delays = SignInDelays(free=3, first=2.0, longest=900.0)
    assert [delays.wait(failures=n, since_last=0.0) for n in range(3)] == [0, 0, 0]
    assert [delays.wait(failures=n, since_last=0.0) for n in range(3, 8)] == [2, 4, 8, 16, 32]
    assert delays.wait(failures=40, since_last=0.0) == 900
    assert delays.wait(failures=4, since_last=3.5) == 1 and delays.wait(failures=4, since_last=4.0) == 0


def test_an_ipv6_client_is_counted_by_its_64() -> None:
    assert throttled_address("2001:db8:1:2:aaaa::1") == throttled_address("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert throttled_address("::ffff:192.0.2.7") == "192.0.2.7"
    assert throttled_address("192.0.2.7") == "192.0.2.7" and throttled_address("unknown") == "unknown"


async def test_failing_someones_password_from_one_address_does_not_stop_them_from_another(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    """A limit per name alone let anyone lock a known person out by failing their password on purpose."""
    name, address = _unique()
    attacker, owner = address + "a", address + "o"
    limits: dict[str, Any] = {"free_failures": 2, "first_delay": 30.0, "account_limit": "10/minute"}
    async with _throttles(amqp_url, database_url, **limits) as (throttle,):
        await _fail(throttle, name, attacker)
        await _fail(throttle, f" {name.upper()} ", attacker)  # one name however it is spelled
        wait, attempt = await throttle.begin(name, attacker)
        assert 29 <= wait <= 30 and attempt == []
        # the owner, from their own address, is not slowed by the attacker's failures
        await _succeed(throttle, name, owner)
        # and the attacker still is
        assert (await throttle.begin(name, attacker))[0] > 0


async def test_a_guesser_from_one_address_waits_longer_after_each_failure(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, free_failures=1, first_delay=1.0) as (throttle,):
        await _fail(throttle, name, address)
        first = (await throttle.begin(name, address))[0]
        assert first == 1
        await asyncio.sleep(1.1)
        await _fail(throttle, name, address)
        assert (await throttle.begin(name, address))[0] == 2  # twice as long after the next failure
        await asyncio.sleep(2.1)
        await _fail(throttle, name, address)
        assert 3 <= (await throttle.begin(name, address))[0] <= 4


async def test_the_right_password_forgets_the_failures_of_its_name_from_its_address(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, free_failures=2, first_delay=60.0) as (throttle,):
        await _fail(throttle, name, address)
        await _succeed(throttle, name, address)
        await _fail(throttle, name, address)
        wait, attempt = await throttle.begin(name, address)
        assert wait == 0  # one failure since the right password, not two
        await throttle.end(name, address, attempt, ok=None)
        await _fail(throttle, name, address + "x")
        await _fail(throttle, name, address + "x")
        await _succeed(throttle, name, address)
        assert (await throttle.begin(name, address + "x"))[0] > 0  # another address's failures are its own


async def test_guesses_spread_over_addresses_are_limited_per_name_but_not_from_its_owners_address(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, account_limit="3/minute") as (throttle,):
        await _succeed(throttle, name, address + "home")
        for guess in range(3):
            await _fail(throttle, name.capitalize(), f"{address}{guess}")
        wait, attempt = await throttle.begin(name, address + "new")
        assert 55 <= wait <= 60 and attempt == []
        await _succeed(throttle, name, address + "home")  # the owner's own address still signs in
        assert (await throttle.begin(name, address + "new"))[0] > 0  # which gave the guessers no fresh window


async def test_failed_sign_ins_are_limited_per_address_whatever_the_names(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, address_limit="3/minute") as (throttle,):
        for n in range(3):
            await _fail(throttle, f"{n}-{name}", address + "1")
        # the address is spent: every name from it waits, the same names from elsewhere do not
        assert (await throttle.begin(f"member-{name}", address + "1"))[0] > 0
        assert (await throttle.begin(f"member-{name}", address + "4"))[0] == 0


async def test_parallel_sign_in_attempts_count_while_they_are_checked(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, account_limit="2/minute") as (throttle,):
        first = await throttle.begin(name, address + "1")
        assert first[0] == 0
        assert (await throttle.begin(name, address + "2"))[0] == 0
        assert (await throttle.begin(name, address + "3"))[0] > 0  # two guesses still being hashed fill the window
        await throttle.end(name, address + "1", first[1], ok=None)  # a broken check spends nothing
        assert (await throttle.begin(name, address + "3"))[0] == 0


async def test_replicas_share_one_sign_in_limit(amqp_url: str, database_url: str, fakes: FakeServices) -> None:
    """Three gateway replicas allow the limit's guesses in all, not three times as many (the throttle lived in
    each process's memory: a round-robin balancer multiplied the guesses)."""
    name, address = _unique()
    async with _throttles(amqp_url, database_url, replicas=3, account_limit="4/minute") as throttles:
        for guess in range(4):
            await _fail(throttles[guess % 3], name, f"{address}{guess}")
        for throttle in throttles:
            assert (await throttle.begin(name, address + "x"))[0] > 0
        # parallel guesses on every replica at once: exactly the limit's number are let through to the password
        other, _ = _unique()
        answers = await asyncio.gather(*(throttles[n % 3].begin(other, f"{address}p{n}") for n in range(12)))
        assert sorted(wait == 0 for wait, _ in answers).count(True) == 4
        # and one address's parallel guesses at one name: exactly its free failures
        third, _ = _unique()
        answers = await asyncio.gather(*(throttles[n % 3].begin(third, address + "q") for n in range(9)))
        assert sorted(wait == 0 for wait, _ in answers).count(True) == 3


async def _web_operator(state: Any) -> str:
    """A new operator account with the password WEB_PASSWORD; its username."""
    sub = f"operator-{secrets.token_hex(4)}"
    await create_account(
        state.accounts,
        secret=state.secret,
        issuer=state.settings.jwt_issuer,
        sub=sub,
        role=Role.OPERATOR,
        unit_id=None,
        person_id=None,
        days=1,
        max_days=30,
    )
    await WebAccounts(state.pool).set_password(sub, WEB_PASSWORD)
    return sub


WEB_PASSWORD = "mật-khẩu-đúng"


async def _sign_in(app: Any, client_ip: str, username: str, password: str) -> httpx.Response:
    """One try on the sign-in page from `client_ip`, as a browser makes it (the form's CSRF token first)."""
    transport = httpx.ASGITransport(app=app, client=(client_ip, 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        page = (await client.get("/app/sign-in")).text
        marker = 'name="csrf" value="'
        csrf = page[page.index(marker) + len(marker) :].split('"', 1)[0]
        return await client.post(
            "/app/sign-in", data={"username": username, "password": password, "csrf": csrf, "next": "/app/"}
        )


async def test_failing_a_persons_password_from_one_address_does_not_lock_them_out_of_the_sign_in_page(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    """An attacker failing a person's password from one address over and over is answered 429, the person signs in
    from their own address (a limit per name alone refused them for 15 minutes), and the attacker's next try is
    still 429 (a first delay of a minute, so that no wait runs out while the test goes on)."""
    app = create_app(gateway_settings(amqp_url, database_url, web_sign_in_first_delay=60.0))
    async with app.router.lifespan_context(app):
        sub = await _web_operator(app.state.gateway)
        tag = secrets.randbelow(250) + 1
        attacker, owner = f"198.51.100.{tag}", f"203.0.113.{tag}"
        answers = [(await _sign_in(app, attacker, sub, f"đoán-sai-{n}")).status_code for n in range(12)]
        assert answers[0] == 401 and answers[-1] == 429
        throttled = await _sign_in(app, attacker, sub, WEB_PASSWORD)
        assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
        assert "Có quá nhiều lần đăng nhập không thành công" in throttled.text
        assert (await _sign_in(app, owner, sub, WEB_PASSWORD)).status_code == 303
        assert (await _sign_in(app, attacker, sub, WEB_PASSWORD)).status_code == 429
        # the owner's right password cleared their own address's count, not the attacker's
        assert (await _sign_in(app, attacker, sub, "đoán-sai")).status_code == 429


async def test_a_token_over_its_rate_gets_429_with_retry_after_and_large_bodies_413(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    # one token a minute: the test spends its burst of 3 and must see the 429 before a token comes back, and at 6 a
    # minute (one each 10 s) a loaded machine took longer than that between the first request and the last
    app = create_app(
        gateway_settings(amqp_url, database_url, rate_limit_per_minute=1, rate_limit_burst=3, max_body_bytes=2048)
    )
    async with app.router.lifespan_context(app):
        state = app.state.gateway
        _, token = await create_account(
            state.accounts,
            secret=state.secret,
            issuer=state.settings.jwt_issuer,
            sub="int-limits",
            role=Role.INTEGRATION,
            unit_id=None,
            person_id=None,
            days=1,
            max_days=30,
            province_wide=True,
        )
        auth = {"Authorization": f"Bearer {token}"}
        client_ip = f"198.51.100.{secrets.randbelow(250) + 1}"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=(client_ip, 1)), base_url="http://gw"
        ) as client:
            big = json.dumps([{"specversion": "1.0", "padding": "x" * 100}] * 40)
            too_large = await client.post(
                "/v1/events", content=big, headers={**auth, "Content-Type": "application/cloudevents-batch+json"}
            )
            assert too_large.status_code == 413 and too_large.json()["code"] == "payload_too_large"

            async def chunks():
                for _ in range(10):
                    yield b" " * 500

            streamed = await client.post(
                "/v1/events", content=chunks(), headers={**auth, "Content-Type": "application/cloudevents+json"}
            )
            assert streamed.status_code == 413
            anonymous = await client.post(
                "/v1/events", content=big, headers={"Content-Type": "application/cloudevents-batch+json"}
            )
            assert anonymous.status_code == 401
            # both bodies over the limit reached the authenticated route (which has meetings store each as a
            # rejection, tests/gateway/test_oversized_body.py): audited and each spending one of the token's rate;
            # the anonymous one was refused before its body was read: counted per address, not one audit row each
            await state.anonymous.flush(state.pool)
            audited = await state.pool.fetch("SELECT status FROM audit_log WHERE client_ip = $1", client_ip)
            counted = await state.pool.fetchval(
                "SELECT sum(refused) FROM anonymous_refusal WHERE client_ip = $1", client_ip
            )
            assert ([row["status"] for row in audited], counted) == ([413, 413], 1)
            statuses = [(await client.get("/v1/me", headers=auth)).status_code for _ in range(2)]
            assert statuses == [200, 429]
            limited = await client.get("/v1/me", headers=auth)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert limited.json()["code"] == "rate_limited"
