"""Base class for event data and the strict, bounded field types of CONTRACT.md "Reading an event"."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.envelope import Day, Identifier, Timestamp

__all__ = ["Count", "Day", "EventData", "Flag", "Identifier", "Items", "Name", "Text", "Timestamp", "Whole"]


class EventData(BaseModel):
    """Data of one event type: producers build it (validating), consumers read what they need."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
"""A name or title: 1-200 characters."""
Text = Annotated[str, StringConstraints(max_length=10_000)]
"""Other free text: at most 10,000 characters."""
Count = Annotated[int, Field(strict=True, ge=0, le=100_000)]
"""Votes, quotas, minutes: an integer (never text, a fraction or a boolean) from 0 to 100,000."""
Whole = Annotated[int, Field(strict=True)]
"""An integer written as a JSON integer (never text or a boolean)."""
Flag = Annotated[bool, Field(strict=True)]
"""true or false (never "yes", "no", 0 or 1)."""
MAX_ITEMS = 1000
"""Lists (a roster, speakers, tasks, agenda) hold at most 1,000 items."""
Items = Field(max_length=MAX_ITEMS)
