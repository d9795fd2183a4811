"""Body size, batch size and per-token rate limits, each with its own small gateway."""

import json
import secrets

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


def _fail(throttle: SignInThrottle, username: str, client_ip: str) -> None:
    assert throttle.begin(username, client_ip) == 0
    throttle.end(username, client_ip, ok=False)


def test_failed_sign_ins_are_limited_per_name_and_per_address() -> None:
    throttle = SignInThrottle(per_account="2/minute", per_address="3/minute")
    _fail(throttle, "Officer", "10.0.0.1")
    _fail(throttle, " officer ", "10.0.0.2")
    # one name however it is spelled, from any address
    assert 55 <= throttle.begin("OFFICER", "10.0.0.3") <= 60
    _fail(throttle, "a", "10.0.0.1")
    _fail(throttle, "b", "10.0.0.1")
    # the address is spent: every name from it waits, the same names from elsewhere do not
    assert throttle.begin("member", "10.0.0.1") > 0
    assert throttle.begin("member", "10.0.0.4") == 0


def test_the_right_password_forgets_the_names_failures() -> None:
    throttle = SignInThrottle(per_account="2/minute", per_address="30/minute")
    _fail(throttle, "officer", "10.0.0.1")
    assert throttle.begin("officer", "10.0.0.1") == 0
    throttle.end("officer", "10.0.0.1", ok=True)
    _fail(throttle, "officer", "10.0.0.1")
    assert throttle.begin("officer", "10.0.0.1") == 0  # one failure since the right password, not two


def test_parallel_sign_in_attempts_count_while_they_are_checked() -> None:
    throttle = SignInThrottle(per_account="2/minute", per_address="30/minute")
    assert throttle.begin("officer", "10.0.0.1") == 0
    assert throttle.begin("officer", "10.0.0.2") == 0
    assert throttle.begin("officer", "10.0.0.3") > 0  # two guesses still being hashed fill the window
    throttle.end("officer", "10.0.0.1", ok=None)  # a broken check spends nothing
    assert throttle.begin("officer", "10.0.0.3") == 0


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
            # the first was refused by its Content-Length before anyone was authenticated: counted per address, not
            # one audit row each; the streamed one was refused while the authenticated handler read it: audited
            await state.anonymous.flush(state.pool)
            audited = await state.pool.fetch("SELECT status FROM audit_log WHERE client_ip = $1", client_ip)
            counted = await state.pool.fetchval(
                "SELECT sum(refused) FROM anonymous_refusal WHERE client_ip = $1", client_ip
            )
            assert ([row["status"] for row in audited], counted) == ([413], 1)
            statuses = [(await client.get("/v1/me", headers=auth)).status_code for _ in range(3)]
            assert statuses == [200, 200, 429]
            limited = await client.get("/v1/me", headers=auth)
            assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
            assert limited.json()["code"] == "rate_limited"
