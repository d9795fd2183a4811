"""Schemathesis over the published OpenAPI document, with the fake services answering: no server
error, no status code or content type the document does not declare, no response-schema violation."""

import asyncio
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services.gateway.bootstrap import GatewayState
from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings
from tests.gateway.fakes import FakeServices, World
from tests.support.running import running_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 8


def role_for(path: str) -> str:
    """The caller that may use an operation, so most generated cases reach the service fakes."""
    if path == "/v1/events":
        return "integration"
    if path.startswith(("/v1/rejections", "/v1/dead-letters", "/v1/system", "/v1/deliveries")):
        return "operator"
    if path.startswith(("/v1/frameworks", "/v1/accounts", "/v1/rescore", "/v1/audit")):
        return "admin"
    if path.startswith("/v1/committees"):
        return "province_officer"
    if path.startswith("/v1/me"):
        return "member"
    return "secretary"


def known_ids(world: World, path: str) -> dict[str, str]:
    """Path parameters that exist in the fake province, so generated bodies reach the fakes' data."""
    committee_inbox = path.startswith("/v1/committees")
    recipient = world.ward_a if committee_inbox else world.member_a1
    return {
        "cell_id": world.cell_a1,
        "meeting_id": world.meeting_a1,
        "committee_id": world.ward_a,
        "member_id": world.member_a1,
        "framework_id": "hd42-2025",
        "rejection_id": next(iter(world.rejections)),
        "notification_id": world.notifications[recipient][0]["notification_id"],
        "delivery_id": "1",
        "task_id": f"{world.meeting_a1}-t1",
    }


def _fuzzer(operation: Any, base_url: str, auth: dict[str, str], statuses: set[int], world: World) -> Any:
    known = known_ids(world, operation.path)

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy())
    def check(case: schemathesis.Case) -> None:
        # two cases in three aim at things that exist; the rest keep the generated (mostly unknown) ids
        if case.path_parameters and len(str(case.path_parameters)) % 3:
            case.path_parameters = {name: known.get(name, value) for name, value in case.path_parameters.items()}
        response = case.call_and_validate(base_url=base_url, headers=auth, checks=CHECKS, timeout=10)
        statuses.add(response.status_code)

    return check


def fuzz(base_url: str, headers: dict[str, dict[str, str]], world: World) -> list[str]:
    """Run every operation; return the failures as text."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"unreadable operation: {result.err()!r}")
            continue
        operation = result.ok()
        operations += 1
        check = _fuzzer(
            operation, base_url, headers[role_for(operation.path)], statuses.setdefault(operation.label, set()), world
        )
        try:
            check()
        except Exception as exc:  # one report per operation, then go on with the others
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 40
    # the fuzzing reached the services, not just the validation layer
    succeeded = [label for label, codes in statuses.items() if any(200 <= code < 300 for code in codes)]
    assert len(succeeded) >= 35, (sorted(statuses.items()), failures[:3])
    return failures


async def test_schemathesis_finds_no_server_error_or_schema_violation(
    amqp_url: str, database_url: str, fakes: FakeServices, headers: dict[str, dict[str, str]], state: GatewayState
) -> None:
    # the fakes answer at once, but on a loaded machine a reply can take seconds: this test looks for server errors
    # and schema violations, so an RPC timeout (503) must not be what it finds
    settings = gateway_settings(amqp_url, database_url, jwt_secret=state.secret, rpc_timeout=15.0, ingest_timeout=15.0)
    app = create_app(settings)
    async with running_app(app) as base_url:
        failures = await asyncio.to_thread(fuzz, base_url, headers, fakes.world)
    assert failures == [], "\n\n".join(failures)
