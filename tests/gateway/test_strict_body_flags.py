"""A request body's true/false fields take JSON booleans only, as events' flags do (CONTRACT.md "strict reading"):
`"digest": "yes"` was taken as true by PUT /v1/me/preferences."""

import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from services.gateway.http.preferences import PreferencesUpdate
from services.gateway.schemas.commands import MeetingScheduleCreate
from services.gateway.schemas.operations import AccountCreate
from services.gateway.schemas.recovery import ParkedReplayCreate
from tests.gateway.bodies import request_bodies


def _is_bool(annotation: object) -> bool:
    if annotation is bool:
        return True
    return any(_is_bool(arg) for arg in typing.get_args(annotation))


def test_every_boolean_of_a_request_body_is_strict() -> None:
    flags = {
        (model.__name__, name)
        for model in request_bodies()
        for name, field in model.model_fields.items()
        if _is_bool(field.annotation)
    }
    assert flags >= {
        ("PreferencesUpdate", "digest"),
        ("MeetingScheduleCreate", "committee_prepared"),
        ("ParkedReplayCreate", "all"),
        ("AccountCreate", "province_wide"),
    }
    for model in request_bodies():
        for name, field in model.model_fields.items():
            if _is_bool(field.annotation):
                form: Any = typing.Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
                adapter: TypeAdapter[Any] = TypeAdapter(form)
                with pytest.raises(ValidationError):
                    adapter.validate_python("yes")
                    pytest.fail(f"{model.__name__}.{name} takes 'yes' for true")


@pytest.mark.parametrize("value", ["yes", "true", 1, "1", "on"])
def test_a_text_or_number_for_a_boolean_is_refused_naming_the_field(value: object) -> None:
    cases: list[tuple[type[BaseModel], dict[str, object], str]] = [
        (PreferencesUpdate, {"channels": ["email"]}, "digest"),
        (ParkedReplayCreate, {}, "all"),
        (AccountCreate, {"role": "integration"}, "province_wide"),
    ]
    for model, base, field in cases:
        with pytest.raises(ValidationError) as caught:
            model.model_validate(base | {field: value})
        assert [error["loc"][-1] for error in caught.value.errors()] == [field]
    assert PreferencesUpdate.model_validate({"channels": ["email"], "digest": True}).digest is True
    with pytest.raises(ValidationError):
        MeetingScheduleCreate.model_validate({"committee_prepared": "yes"})
