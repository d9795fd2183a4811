"""Event types owned by the notifications service: delivery outcomes."""

from enum import StrEnum

from shared.contracts.base import EventData


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"
    INBOX = "inbox"


class NotificationDelivered(EventData):
    """notification.delivered.v1: one alert reached one recipient on one channel."""

    notification_id: str
    rule: str
    recipient: str
    channel: Channel
    subject_id: str


class NotificationFailed(EventData):
    """notification.failed.v1: delivery of one alert gave up after its attempts."""

    notification_id: str
    rule: str
    recipient: str
    channel: Channel
    subject_id: str
    error: str | None = None


TYPES: dict[str, type[EventData]] = {
    "notification.delivered.v1": NotificationDelivered,
    "notification.failed.v1": NotificationFailed,
}
