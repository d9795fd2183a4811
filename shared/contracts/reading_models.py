"""Reading models: a consumer's model of the fields of an event type's data it reads, each with the contract model's
own type, limits and field validators (EventData ignores the rest: "producers build it (validating), consumers read
what they need"). A consumer passes them by type to `shared.consuming.consume_event(models=...)` (read_event).

The events on chibo.events come from the service that owns them, which built them with the full model
(shared.contracts), and meetings' ingest reads every fact from outside with the full model; so what a reading model
leaves out was validated there, and a read field is refused here as strictly as before, naming `data.<field>`.
Notifications (issue 12) and evaluation read their hottest types so.
"""

from typing import Any

from pydantic import create_model, field_validator

from shared.contracts import meetings
from shared.contracts.base import EventData


def reading_model(
    full: type[EventData], *names: str, lists: dict[str, type[EventData]] | None = None
) -> type[EventData]:
    """A model of `full` with only the fields `names`, in `full`'s order, each of the same type and limits (a list field
    named in `lists` holds that model, a reading model of its items, instead: Items still bounds it), with each field
    validator of `full` whose fields are all kept (one that also looks at another field sees that field only when it
    is kept, and before it in `full`); ValueError for a name `full` has no field for."""
    for name in names:
        if name not in full.model_fields:
            raise ValueError(f"{full.__name__} has no field {name}")
    kept = [name for name in full.model_fields if name in names]
    fields: dict[str, Any] = {}
    for name in kept:
        info = full.model_fields[name]
        annotation: Any = info.annotation
        if lists and name in lists:
            annotation = list[lists[name]]  # type: ignore[valid-type]
        fields[name] = (annotation, info)
    validators: dict[str, Any] = {}
    for name, decorator in full.__pydantic_decorators__.field_validators.items():
        if set(decorator.info.fields) <= set(kept):
            function = getattr(decorator.func, "__func__", None)  # a classmethod of `full`: now of the reading model
            check: Any = classmethod(function) if function is not None else decorator.func
            validators[name] = field_validator(*decorator.info.fields, mode=decorator.info.mode)(check)
    model: type[EventData] = create_model(
        f"{full.__name__}Read", __base__=EventData, __validators__=validators, **fields
    )
    return model


DOCUMENT_KINDS = reading_model(
    meetings.DocumentsPublished,
    "meeting_id",
    "published_at",
    "items",
    lists={"items": reading_model(meetings.DocumentItem, "kind")},
)
"""documents.published.v1 as its consumers read it: the meeting, the time, each item's kind (not titles, addresses)."""
