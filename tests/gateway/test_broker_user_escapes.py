"""The gateway calls the services as the broker user its AMQP URL logs in as, percent-escapes decoded
(shared.config.broker_user_of): RabbitMQ refuses a publish whose user_id is not the connection's user, and the
gateway took `ops%40ward` from the URL as is, so every call of a gateway logging in as `ops@ward` was refused."""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import quote, unquote, urlsplit

import aio_pika
import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from services.gateway.main import check_unit, create_app
from shared.config import ServiceSettings, vhost_of
from shared.contracts import meetings_rpc
from shared.ops.__main__ import broker_refused, call_service_saying
from tests.gateway.conftest import TokenFactory, gateway_settings
from tests.gateway.fakes import World

pytestmark = pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl")


def rabbitmqctl(*args: str) -> None:
    """One rabbitmqctl command; CalledProcessError when it fails."""
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def escaped_url(amqp_url: str) -> Iterator[str]:
    """The test vhost's AMQP URL as a broker user named `ops@ward-…` (created here, deleted afterwards), written
    percent-encoded as a URL must."""
    user, password = f"ops@ward-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    rabbitmqctl("add_user", user, password)
    try:
        rabbitmqctl("set_permissions", "-p", vhost_of(amqp_url), user, ".*", ".*", ".*")
        parts = urlsplit(amqp_url)
        netloc = f"{quote(user, safe='')}:{password}@{parts.hostname}:{parts.port or 5672}"
        yield parts._replace(netloc=netloc).geturl()
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False, capture_output=True, timeout=60)


async def test_a_gateway_logging_in_as_a_percent_encoded_user_calls_the_services(
    escaped_url: str, database_url: str, state: GatewayState, token_for: TokenFactory, world: World
) -> None:
    assert "%40" in escaped_url
    app = create_app(gateway_settings(escaped_url, database_url, jwt_secret=state.secret))
    headers = await token_for("member", world.cell_a1, world.member_a1)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as client:
            response = await client.get(f"/v1/meetings/{world.meeting_a1}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["cell_id"] == world.cell_a1


async def test_a_command_line_logging_in_as_a_percent_encoded_user_checks_a_unit(
    escaped_url: str, database_url: str, state: GatewayState, world: World
) -> None:
    # issue-token and web-account check their --unit with meetings over a connection of their own
    await check_unit(gateway_settings(escaped_url, database_url, jwt_secret=state.secret), world.cell_a1)


async def test_an_operator_command_logging_in_as_a_percent_encoded_user_calls_the_services(
    escaped_url: str, world: World
) -> None:
    # `python -m shared.ops` (held retry/drop, rejections, alert rules) calls a service as its CHIBO_AMQP_URL's user:
    # it took `ops%40ward` as is, so every such call of an operator logging in as `ops@ward` was refused
    reply, status, refusal = await call_service_saying(
        meetings_rpc.GetUnit(unit_id=world.cell_a1), ServiceSettings(amqp_url=escaped_url)
    )
    assert (status, refusal) == (200, None)
    assert reply is not None and reply["id"] == world.cell_a1


def test_a_broker_login_refusal_names_the_user_decoded(escaped_url: str) -> None:
    wrong = escaped_url.replace(urlsplit(escaped_url).password or "", "not-the-password")
    said = str(broker_refused(wrong, aio_pika.exceptions.ProbableAuthenticationError("refused")))
    user = unquote(urlsplit(escaped_url).username or "")
    assert f"refused the login of user {user!r}" in said, said
