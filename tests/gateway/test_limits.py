"""Body size, batch size and per-token rate limits, each with its own small gateway."""

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx

from services.gateway.auth import Role
from services.gateway.handlers import create_account
from services.gateway.limits import RateLimiter, SignInThrottle
from services.gateway.main import create_app
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
    amqp_url: str, database_url: str, *, replicas: int = 1, per_account: str, per_address: str
) -> AsyncIterator[list[SignInThrottle]]:
    """The sign-in throttles of `replicas` gateways on one database, each as its lifespan wires it."""
    async with AsyncExitStack() as stack:
        throttles = []
        for _ in range(replicas):
            app = create_app(
                gateway_settings(
                    amqp_url,
                    database_url,
                    web_sign_in_account_limit=per_account,
                    web_sign_in_address_limit=per_address,
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
    await throttle.end(username, attempt, ok=False)


async def test_failed_sign_ins_are_limited_per_name_and_per_address(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, per_account="2/minute", per_address="3/minute") as (throttle,):
        await _fail(throttle, name.capitalize(), address + "1")
        await _fail(throttle, f" {name} ", address + "2")
        # one name however it is spelled, from any address
        wait, attempt = await throttle.begin(name.upper(), address + "3")
        assert 55 <= wait <= 60 and attempt == []
        await _fail(throttle, f"a-{name}", address + "1")
        await _fail(throttle, f"b-{name}", address + "1")
        # the address is spent: every name from it waits, the same names from elsewhere do not
        assert (await throttle.begin(f"member-{name}", address + "1"))[0] > 0
        assert (await throttle.begin(f"member-{name}", address + "4"))[0] == 0


async def test_the_right_password_forgets_the_names_failures(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, per_account="2/minute", per_address="30/minute") as (throttle,):
        await _fail(throttle, name, address)
        wait, attempt = await throttle.begin(name, address)
        assert wait == 0
        await throttle.end(name, attempt, ok=True)
        await _fail(throttle, name, address)
        assert (await throttle.begin(name, address))[0] == 0  # one failure since the right password, not two


async def test_parallel_sign_in_attempts_count_while_they_are_checked(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    name, address = _unique()
    async with _throttles(amqp_url, database_url, per_account="2/minute", per_address="30/minute") as (throttle,):
        first = await throttle.begin(name, address + "1")
        assert first[0] == 0
        assert (await throttle.begin(name, address + "2"))[0] == 0
        assert (await throttle.begin(name, address + "3"))[0] > 0  # two guesses still being hashed fill the window
        await throttle.end(name, first[1], ok=None)  # a broken check spends nothing
        assert (await throttle.begin(name, address + "3"))[0] == 0


async def test_replicas_share_one_sign_in_limit(amqp_url: str, database_url: str, fakes: FakeServices) -> None:
    """Three gateway replicas allow the limit's guesses in all, not three times as many (the throttle lived in
    each process's memory: a round-robin balancer multiplied the guesses)."""
    name, address = _unique()
    async with _throttles(
        amqp_url, database_url, replicas=3, per_account="4/minute", per_address="100/minute"
    ) as throttles:
        for guess in range(4):
            await _fail(throttles[guess % 3], name, f"{address}{guess}")
        for throttle in throttles:
            assert (await throttle.begin(name, address + "x"))[0] > 0
        # parallel guesses on every replica at once: exactly the limit's number are let through to the password
        other, _ = _unique()
        answers = await asyncio.gather(*(throttles[n % 3].begin(other, f"{address}p{n}") for n in range(12)))
        assert sorted(wait == 0 for wait, _ in answers).count(True) == 4


async def test_a_token_over_its_rate_gets_429_with_retry_after_and_large_bodies_413(
    amqp_url: str, database_url: str, fakes: FakeServices
) -> None:
    app = create_app(
        gateway_settings(amqp_url, database_url, rate_limit_per_minute=6, rate_limit_burst=3, max_body_bytes=2048)
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
