"""The AsyncAPI documents are the contract: every type of CONTRACT.md, a schema per type, valid AsyncAPI 3.0.

The documents come from the services' own specs (the same function /asyncapi.json serves); the
AsyncAPI 3.0 JSON Schema is the one shipped with the AsyncAPI UI the project installs
(deploy/bootstrap.sh), so no network is needed.
"""

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.evaluation.bootstrap import build_spec as evaluation_spec
from services.evaluation.config import Settings as EvaluationSettings
from services.meetings.bootstrap import build_spec as meetings_spec
from services.meetings.bootstrap import create_app as meetings_app
from services.meetings.config import Settings as MeetingsSettings
from services.notifications.bootstrap import build_spec as notifications_spec
from services.notifications.config import Settings as NotificationsSettings
from shared.asyncapi import ASSETS, SCHEMA_REF, service_document
from shared.runtime import ServiceSpec
from tests.ops.contract_examples import example
from tests.support.running import free_port, running_app

ROOT = Path(__file__).parents[2]
TYPE = re.compile(r"`([a-z]+(?:\.[a-z_]+)+\.v\d+)`")


def contract_path() -> Path:
    """CONTRACT.md: `../shared/CONTRACT.md` beside the checkout (or the main checkout's, from a worktree)."""
    for candidate in (ROOT.parent / "shared" / "CONTRACT.md", ROOT.parents[1] / "shared" / "CONTRACT.md"):
        if candidate.is_file():
            return candidate
    raise AssertionError("CONTRACT.md not found beside the checkout (../shared/CONTRACT.md)")


def contract_types() -> dict[str, set[str]]:
    """The types CONTRACT.md names, split by its sections "Types in" and "Types out"."""
    text = contract_path().read_text(encoding="utf-8")
    types_in = text.split("## Types in", 1)[1].split("## Types out", 1)[0]
    types_out = text.split("## Types out", 1)[1]
    return {"in": set(TYPE.findall(types_in)), "out": set(TYPE.findall(types_out))}


def specs() -> list[ServiceSpec]:
    """The three FastStream services' specs, as their apps are built."""
    return [
        meetings_spec(MeetingsSettings()),
        evaluation_spec(EvaluationSettings()),
        notifications_spec(NotificationsSettings()),
    ]


def document(spec: ServiceSpec) -> dict[str, Any]:
    """The service's AsyncAPI document."""
    return service_document(
        service=spec.name,
        description=spec.description,
        consumer_queues=spec.consumer_queues,
        rpc_queue=spec.rpc_queue,
        publishes=spec.publishes,
    )


def operations(doc: dict[str, Any], action: str) -> set[str]:
    """The event types of the document's `send` or `receive` operations (by their channels' messages)."""
    found: set[str] = set()
    for operation in doc["operations"].values():
        if operation["action"] != action:
            continue
        channel = doc["channels"][operation["channel"]["$ref"].rsplit("/", 1)[1]]
        for ref in channel["messages"].values():
            message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
            if message["contentType"] == "application/cloudevents+json":
                found.add(message["name"])
    return found


def validator(doc: dict[str, Any], event_type: str) -> jsonschema.Draft202012Validator:
    """A validator of one event type's payload schema, resolving the document's component references."""
    root = {"components": doc["components"], "$ref": f"{SCHEMA_REF}{event_type}"}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())


def test_the_contract_names_types_in_and_out() -> None:
    types = contract_types()
    assert "meeting.scheduled.v1" in types["in"] and "ingest.rejected.v1" in types["out"]
    assert len(types["in"]) == 13 and len(types["out"]) >= 6


def test_every_contract_type_is_received_and_published_where_the_contract_says() -> None:
    docs = {spec.name: document(spec) for spec in specs()}
    types = contract_types()
    assert types["in"] <= operations(docs["meetings"], "receive")
    assert types["in"] <= operations(docs["meetings"], "send")  # the validated form of every type in
    published = set().union(*(operations(doc, "send") for doc in docs.values()))
    assert types["out"] <= published
    assert types["in"] <= operations(docs["evaluation"], "receive")
    assert {"score.meeting.updated.v1", "score.cell.updated.v1"} <= operations(docs["notifications"], "receive")
    for doc in docs.values():
        assert doc["channels"], "a document without channels"
        for ref in (r for channel in doc["channels"].values() for r in channel["messages"].values()):
            message = doc["components"]["messages"][ref["$ref"].rsplit("/", 1)[1]]
            assert message["payload"], f"{message['name']} has no payload schema"


def test_each_schema_accepts_the_contracts_example_event_and_refuses_a_broken_one() -> None:
    docs = [document(spec) for spec in specs()]
    types = contract_types()
    for event_type in sorted(types["in"] | types["out"]):
        doc = next(d for d in docs if event_type in d["components"]["schemas"])
        check = validator(doc, event_type)
        event = example(event_type)
        errors = [error.message for error in check.iter_errors(event)]
        assert errors == [], f"{event_type}: {errors}"
        wrong_type = {**event, "type": "something.else.v1"}
        assert not check.is_valid(wrong_type), event_type
        without_data = {key: value for key, value in event.items() if key != "data"}
        assert not check.is_valid({**without_data, "data": {}}), event_type


def test_the_documents_are_valid_asyncapi_3() -> None:
    schema_file = ASSETS.parent / "specs" / "schemas" / "3.0.0.json"
    assert schema_file.is_file(), "AsyncAPI UI not installed: run deploy/bootstrap.sh"
    check = jsonschema.Draft7Validator(json.loads(schema_file.read_text(encoding="utf-8")))
    for spec in specs():
        errors = [f"{list(error.absolute_path)}: {error.message[:200]}" for error in check.iter_errors(document(spec))]
        assert errors == [], spec.name


@pytest.fixture(scope="module")
async def meetings_base(amqp_url: str, database_url: str) -> AsyncIterator[str]:
    """The meetings service in this process."""
    settings = MeetingsSettings(amqp_url=amqp_url, database_url=database_url, http_port=free_port())
    async with running_app(meetings_app(settings), port=settings.http_port) as base:
        yield base


async def test_the_document_renders_offline_from_the_services_own_assets(meetings_base: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(meetings_base + "/asyncapi")
        served = await client.get(meetings_base + "/asyncapi.json")
        assets = [await client.get(meetings_base + path) for path in re.findall(r'(?:src|href)="([^"]+)"', page.text)]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert not re.search(r"(?:src|href)=\"https?://", page.text), "the page loads something from the network"
    assert [asset.status_code for asset in assets] == [200, 200]
    assert "AsyncApiStandalone" in assets[1].text or "AsyncApiStandalone" in assets[0].text
    assert served.json()["asyncapi"] == "3.0.0" and "chibo_ingest_meeting_scheduled_v1" in served.json()["channels"]
