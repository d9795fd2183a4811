"""The JSON Schemas of the types in (issue 15): generated from the contract models, served at /v1/schemas without a
token, listed in the OpenAPI document, and true to what the system accepts and rejects."""

from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from shared.contracts.meetings import INGEST_TYPES
from tests.partners.scenario import Scenario
from tests.support.system import RunningSystem


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A draft 2020-12 validator that checks formats (date-time, date)."""
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


async def test_every_type_in_has_a_schema_that_the_events_the_system_accepts_satisfy(system: RunningSystem) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=90) as anonymous:
        index = await anonymous.get("/v1/schemas")
        assert index.status_code == 200, index.text
        items = index.json()["items"]
        assert sorted(item["type"] for item in items) == sorted(INGEST_TYPES)
        schemas = {}
        for item in items:
            answer = await anonymous.get(item["url"])
            assert answer.status_code == 200
            schemas[item["type"]] = answer.json()
            assert schemas[item["type"]]["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        unknown = await anonymous.get("/v1/schemas/member.deleted.v9")
    assert unknown.status_code == 404 and unknown.json()["field"] == "event_type"

    for event in Scenario().events():  # the very events the SDK contract tests see accepted
        errors = list(validator(schemas[event["type"]]).iter_errors(event))
        assert not errors, (event["type"], [error.message for error in errors])

    member = next(e for e in Scenario().events() if e["type"] == "member.upserted.v1")
    check = validator(schemas["member.upserted.v1"])
    for broken, path in [
        ({**member, "data": {**member["data"], "status": "honorary"}}, ["data", "status"]),
        ({**member, "data": {k: v for k, v in member["data"].items() if k != "full_name"}}, ["data"]),
        ({**member, "type": "member.removed.v1"}, ["type"]),
        ({k: v for k, v in member.items() if k != "time"}, []),
    ]:
        errors = list(check.iter_errors(broken))
        assert errors and list(errors[0].absolute_path) == path, (path, [e.message for e in errors])


async def test_the_schemas_are_listed_in_the_openapi_document(system: RunningSystem) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=90) as anonymous:
        document = (await anonymous.get("/openapi.json")).json()
    assert {"/v1/schemas", "/v1/schemas/{event_type}"} <= set(document["paths"])
    components = document["components"]["schemas"]
    assert {f"Event.{event_type}" for event_type in INGEST_TYPES} <= set(components)
    body = document["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/cloudevents+json"]
    assert {ref["$ref"] for ref in body["schema"]["oneOf"]} == {
        f"#/components/schemas/Event.{event_type}" for event_type in INGEST_TYPES
    }

    def refs(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [value["$ref"]] if "$ref" in value else [r for v in value.values() for r in refs(v)]
        if isinstance(value, list):
            return [r for v in value for r in refs(v)]
        return []

    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components, ref
