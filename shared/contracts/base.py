"""Base class for event data: frozen, strict about types, tolerant of unknown fields."""

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """Data of one event type: producers build it (validating), consumers read what they need."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)
