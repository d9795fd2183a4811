"""The CloudEvents 1.0 structured-mode envelope every message travels in (CONTRACT.md)."""

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)

from shared.periods import VIETNAM_TZ

CLOUDEVENT_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
BATCH_ROUTING_KEY = "batch"
MAX_BATCH_SIZE = 1000

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]

DataT = TypeVar("DataT", bound=BaseModel)


class CloudEvent(BaseModel):
    """One CloudEvent in structured mode; `data` stays a plain dict until its type is known."""

    model_config = ConfigDict(frozen=True, extra="allow")

    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = None
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None

    def to_json(self) -> bytes:
        """Serialize in structured mode, dropping unset optional attributes."""
        return self.model_dump_json(exclude_none=True).encode()


@dataclass(frozen=True, slots=True)
class Event(Generic[DataT]):
    """An envelope together with its typed, validated data."""

    envelope: CloudEvent
    data: DataT

    @property
    def id(self) -> str:
        """The envelope's id."""
        return self.envelope.id

    @property
    def source(self) -> str:
        """The envelope's source."""
        return self.envelope.source

    @property
    def type(self) -> str:
        """The envelope's type."""
        return self.envelope.type

    @property
    def time(self) -> datetime:
        """The envelope's time."""
        return self.envelope.time

    @property
    def correlation_id(self) -> str:
        """The correlation id, falling back to the event's own id."""
        return self.envelope.correlationid or self.envelope.id


class InvalidEvent(Exception):
    """An event that cannot be accepted, with the reason and the field that is wrong."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


def now() -> datetime:
    """The current time in Vietnam (+07:00), the offset events carry."""
    return datetime.now(UTC).astimezone(VIETNAM_TZ)


def new_event(
    *,
    type: str,
    source: str,
    data: BaseModel,
    subject: str | None = None,
    time: datetime | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    event_id: str | None = None,
) -> CloudEvent:
    """Build an outgoing envelope around a validated data model."""
    return CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type,
        time=time or now(),
        subject=subject,
        data=data.model_dump(mode="json"),
        correlationid=correlation_id,
        causationid=causation_id,
    )


def describe_validation_error(error: ValidationError, *, prefix: str = "") -> InvalidEvent:
    """Turn the first pydantic error into a reason that names the offending field."""
    first = error.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first.get("loc", ()))
    field = f"{prefix}{location}" if location else prefix.rstrip(".") or None
    message = first.get("msg", "invalid value")
    return InvalidEvent(f"{field}: {message}" if field else message, field=field)


def parse_envelope(raw: bytes | str | dict[str, Any]) -> CloudEvent:
    """Parse one structured-mode CloudEvent, raising InvalidEvent that names the field."""
    if isinstance(raw, bytes | str):
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"body is not valid JSON: {exc}", field="body") from exc
    if not isinstance(raw, dict):
        raise InvalidEvent("an event must be a JSON object", field="body")
    try:
        return CloudEvent.model_validate(raw)
    except ValidationError as exc:
        raise describe_validation_error(exc) from exc


def parse_batch(raw: bytes | str) -> list[Any]:
    """Parse a batch body into its raw items (each is parsed and judged on its own)."""
    try:
        items = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"batch body is not valid JSON: {exc}", field="body") from exc
    if not isinstance(items, list):
        raise InvalidEvent("a batch must be a JSON array of events", field="body")
    if len(items) > MAX_BATCH_SIZE:
        raise InvalidEvent(f"a batch holds at most {MAX_BATCH_SIZE} events, got {len(items)}", field="body")
    return items


def peek_identity(raw: Any) -> tuple[str, str, str]:
    """Best-effort (source, id, type) of a raw event, for rejections of unparseable input."""
    if isinstance(raw, dict):
        return (str(raw.get("source") or ""), str(raw.get("id") or ""), str(raw.get("type") or ""))
    return ("", "", "")
