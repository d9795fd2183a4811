"""Base class for event data and the strict, bounded field types of CONTRACT.md "Reading an event"."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticUseDefault

from shared.envelope import Day, Identifier, MeetingTime, Timestamp
from shared.text import require_text

__all__ = [
    "MAX_COUNT",
    "MAX_ITEMS",
    "MAX_NAME",
    "MAX_TEXT",
    "Count",
    "Day",
    "EventData",
    "Flag",
    "Identifier",
    "Items",
    "MeetingTime",
    "Name",
    "Text",
    "Timestamp",
    "Whole",
]


def _null_uses_default(value: Any) -> Any:
    """`value`, or the field's default when it is JSON null."""
    if value is None:
        raise PydanticUseDefault
    return value


NULL_USES_DEFAULT = BeforeValidator(_null_uses_default)
"""What an optional field whose default is not None carries: null there is read as absent (CONTRACT.md: "An optional
attribute or field given as JSON null is the same as absent"), where the type alone would refuse it."""


def read_null_as_absent(model: type[BaseModel]) -> None:
    """Give each optional field of `model` whose default is not None (`role`, `exempt`, `active`, `guests`, …)
    NULL_USES_DEFAULT, for a model class's `__pydantic_init_subclass__`: a field-level check that runs only where such
    a field is present, so a roster's thousand rows without one pay nothing (a model-level validator cost every row
    a Python call: +55% on a 30-line attendance.recorded.v1)."""
    changed = False
    for field in model.model_fields.values():
        defaulted = field.default_factory is not None or field.default is not None
        if field.is_required() or not defaulted or any(item is NULL_USES_DEFAULT for item in field.metadata):
            continue
        field.metadata.append(NULL_USES_DEFAULT)
        changed = True
    if changed:
        model.model_rebuild(force=True)


class EventData(BaseModel):
    """Data of one event type: producers build it (validating), consumers read what they need."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Read null as absent in every event model, nested rows too."""
        super().__pydantic_init_subclass__(**kwargs)
        read_null_as_absent(cls)


MAX_NAME = 200
"""Names and titles hold at most 200 characters."""
MAX_TEXT = 10_000
"""Other free text holds at most 10,000 characters."""
MAX_COUNT = 100_000
"""Counts (votes, quotas, minutes) are at most 100,000."""
MAX_ITEMS = 1000
"""Lists (a roster, speakers, tasks, agenda) hold at most 1,000 items."""

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_NAME, strip_whitespace=True), AfterValidator(require_text)
]
"""A name or title: 1-200 characters, some visible (shared.text.has_text: spaces and zero-width ones are blank)."""
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
"""Other free text: at most 10,000 characters."""
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
"""Votes, quotas, minutes: an integer (never text, a fraction or a boolean) from 0 to 100,000."""
Whole = Annotated[int, Field(strict=True)]
"""An integer written as a JSON integer (never text or a boolean)."""
Flag = Annotated[bool, Field(strict=True)]
"""true or false (never "yes", "no", 0 or 1)."""
Items = Field(max_length=MAX_ITEMS)
