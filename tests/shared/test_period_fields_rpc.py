"""Every period field of a request between the services (the gateway's calls to evaluation, meetings and
notifications, GetCellHalfYear's half-year among them) refuses a value of no period's shape, or one sent as no text,
in the words every refused period says (shared.periods.period_expected: the field, the forms taken, the value sent),
never pydantic's generic "Input should be a valid string": the half-year field alone still said that."""

from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import evaluation_rpc, meetings_rpc, notifications_rpc
from shared.envelope import validation_message
from shared.periods import PERIOD_FORMS_OF
from shared.rpc import Request, RpcMethods, RpcRequest, answer

__all__ = ["evaluation_rpc", "meetings_rpc", "notifications_rpc"]  # imported for their request models


def request_models(base: type[Request[Any]] = Request) -> list[type[Request[Any]]]:
    """Every concrete request model of the contracts, each once."""
    found: list[type[Request[Any]]] = []
    for model in base.__subclasses__():
        if isinstance(getattr(model, "method", None), str):
            found.append(model)
        found.extend(request_models(model))
    return list(dict.fromkeys(found))


def pattern_of(schema: dict[str, Any]) -> str | None:
    """The pattern a field's JSON schema holds (an optional field's among its choices)."""
    if "pattern" in schema:
        return str(schema["pattern"])
    return next((str(choice["pattern"]) for choice in schema.get("anyOf", []) if "pattern" in choice), None)


PERIOD_FIELDS = [
    (model, name, PERIOD_FORMS_OF[pattern])
    for model in request_models()
    for name, schema in model.model_json_schema()["properties"].items()
    if (pattern := pattern_of(schema)) in PERIOD_FORMS_OF
]
"""(request model, field, the forms it takes) of every period field of a request."""


def test_the_half_year_read_is_among_the_period_fields() -> None:
    assert (evaluation_rpc.GetCellHalfYear, "period", "a half-year (2026-H1 or 2026-H2)") in PERIOD_FIELDS
    assert len({model for model, _, _ in PERIOD_FIELDS}) > 5


@pytest.mark.parametrize(("model", "name", "forms"), PERIOD_FIELDS, ids=lambda value: getattr(value, "__name__", ""))
@pytest.mark.parametrize(("value", "said"), [(2026, " as text, not 2026"), ("2026-H3", ", not '2026-H3'")])
def test_a_period_field_refuses_in_plain_words_naming_its_forms(
    model: type[Request[Any]], name: str, forms: str, value: object, said: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate({name: value})
    errors = [error for error in caught.value.errors(include_url=False) if error["loc"] == (name,)]
    assert [validation_message(error) for error in errors] == [f"expected {forms}{said}"]


@pytest.mark.parametrize(("value", "said"), [(2026, "2026"), (["2026-H1"], '["2026-H1"]'), (True, "true")])
async def test_the_half_year_read_answers_the_caller_naming_the_field(value: object, said: str) -> None:
    """What evaluation answers the gateway for a cell's half-year sent as no text (it said "period: Input should be a
    valid string")."""
    methods = RpcMethods("evaluation")

    async def never(params: object) -> dict[str, Any]:
        raise AssertionError("a refused request is not run")

    methods.add(evaluation_rpc.GetCellHalfYear, never)
    request = RpcRequest(method="cell_half_year", params={"cell_id": "cell-1", "period": value})
    reply = await answer(request, methods)
    assert reply["error"] == {
        "code": "invalid",
        "message": f"period: expected a half-year (2026-H1 or 2026-H2) as text, not {said}",
        "field": "period",
    }, reply
