"""The explicit registry from event type to data model, over every owning service's module."""

from pydantic import ValidationError

from shared.contracts import evaluation, frameworks, ingest, meetings, notifications
from shared.contracts.base import EventData
from shared.envelope import CloudEvent, Event, InvalidEvent, describe_validation_error

REGISTRY: dict[str, type[EventData]] = {
    **meetings.TYPES_OUT,
    **ingest.TYPES,
    **evaluation.TYPES,
    **frameworks.TYPES,
    **notifications.TYPES,
}

INTERNAL_TYPES = frozenset(frameworks.TYPES)
"""Types the services exchange among themselves on chibo.events, outside CONTRACT.md's public surface."""


def model_for(event_type: str) -> type[EventData]:
    """The data model of a type, or InvalidEvent naming `type` when it is unknown."""
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise InvalidEvent(f"unknown event type {event_type!r}", field="type") from None


def read_event(envelope: CloudEvent) -> Event[EventData]:
    """Validate an envelope's data against its type's model; errors name `data.<field>`."""
    model = model_for(envelope.type)
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise describe_validation_error(exc, prefix="data.") from exc
    return Event(envelope=envelope, data=data)
