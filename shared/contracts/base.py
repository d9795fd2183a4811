"""Base class for event data and the strict, bounded field types of CONTRACT.md "Reading an event"."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

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


class EventData(BaseModel):
    """Data of one event type: producers build it (validating), consumers read what they need."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


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
