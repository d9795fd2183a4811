"""`python -m services.<name> health` asks the port that service's process listens on, chosen the way `serve` chooses
it (shared.config.service_http_port): CHIBO_HTTP_PORT when set, else CHIBO_<SERVICE>_PORT (exported, or var/up.env as
`make up` saved it), else the service's default. It asked only CHIBO_HTTP_PORT: in a checkout brought up with
CHIBO_MEETINGS_PORT=8611 it asked the default and said the service was down."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from services.evaluation.config import Settings as EvaluationSettings
from services.gateway.config import GatewaySettings
from services.meetings.config import Settings as MeetingsSettings
from services.notifications.config import Settings as NotificationsSettings
from shared.config import ServiceSettings, service_http_port
from tests.ops.test_service_cli_checkout_settings import run_in, service_checkout
from tests.support.serving import health_answering

SERVICES: dict[str, tuple[Callable[[], ServiceSettings], int]] = {
    "gateway": (GatewaySettings, 8000),
    "meetings": (MeetingsSettings, 8101),
    "evaluation": (EvaluationSettings, 8102),
    "notifications": (NotificationsSettings, 8103),
}


@pytest.fixture(autouse=True)
def no_port_exported(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CHIBO_*_PORT of the test run's own environment."""
    monkeypatch.delenv("CHIBO_HTTP_PORT", raising=False)
    for service in SERVICES:
        monkeypatch.delenv(f"CHIBO_{service.upper()}_PORT", raising=False)


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_default_without_any_port_set(service: str) -> None:
    factory, default = SERVICES[service]
    assert service_http_port(service, factory()) == default


@pytest.mark.parametrize("service", SERVICES)
def test_the_service_own_port_variable_when_set(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    factory, _ = SERVICES[service]
    monkeypatch.setenv(f"CHIBO_{service.upper()}_PORT", "8611")
    for other in SERVICES.keys() - {service}:
        monkeypatch.setenv(f"CHIBO_{other.upper()}_PORT", "8699")  # another service's port is not this one's
    assert service_http_port(service, factory()) == 8611


@pytest.mark.parametrize("service", SERVICES)
def test_a_process_own_http_port_wins(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    factory, _ = SERVICES[service]
    monkeypatch.setenv(f"CHIBO_{service.upper()}_PORT", "8611")
    monkeypatch.setenv("CHIBO_HTTP_PORT", "8612")  # deploy/serve.sh's second process
    assert service_http_port(service, factory()) == 8612


@pytest.mark.parametrize("given", ["", "eighty", "0", "70000", "٨٦١١"])
def test_a_port_variable_that_is_not_a_port(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHIBO_MEETINGS_PORT", given)
    if not given:  # set but empty: as unset
        assert service_http_port("meetings", MeetingsSettings()) == 8101
        return
    with pytest.raises(ValueError, match="CHIBO_MEETINGS_PORT"):
        service_http_port("meetings", MeetingsSettings())


def test_health_asks_the_port_saved_in_up_env(tmp_path: Path) -> None:
    answer = {"status": "ok", "service": "meetings-of-this-checkout"}
    with health_answering(json.dumps(answer)) as port:
        workdir = service_checkout(tmp_path, CHIBO_MEETINGS_PORT=str(port))
        asked = run_in(workdir, "services.meetings", "health")
        assert asked.returncode == 0, asked.stdout + asked.stderr
        assert json.loads(asked.stdout) == answer
        # another service's health does not ask meetings' port
        other = run_in(workdir, "services.evaluation", "health", CHIBO_EVALUATION_PORT="1")
        assert other.returncode == 1, other.stdout + other.stderr


def test_health_refuses_a_port_variable_that_is_not_a_port(tmp_path: Path) -> None:
    workdir = service_checkout(tmp_path)
    refused = run_in(workdir, "services.meetings", "health", CHIBO_MEETINGS_PORT="eighty")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "CHIBO_MEETINGS_PORT" in refused.stderr and "Traceback" not in refused.stderr
