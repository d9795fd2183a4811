"""The relay's NEXT_TYPES_HEADER: each message of a fetch names the types that follow it to the same exchange, so a
consumer (evaluation's scoring round) does not act between the one-type batches of one transaction (issue 12)."""

from shared.outbox import NEXT_TYPES_HEADER, more_follows, next_types


def rows(exchange: str, kind: str, count: int = 1) -> list[dict[str, str]]:
    """A message's rows as the relay reads them (the fields next_types uses)."""
    return [{"exchange": exchange, "type": kind}] * count


def test_each_message_names_the_types_after_it_on_its_exchange() -> None:
    messages = [
        rows("chibo.events", "meeting.scheduled.v1", 12),
        rows("chibo.events", "attendance.recorded.v1", 12),
        rows("other", "x.v1"),
        rows("chibo.events", "minutes.submitted.v1", 12),
        rows("chibo.events", "attendance.recorded.v1", 3),
    ]
    assert next_types(messages) == [
        "attendance.recorded.v1,minutes.submitted.v1",
        "attendance.recorded.v1,minutes.submitted.v1",
        "",
        "attendance.recorded.v1",
        "",
    ]


def test_a_consumer_waits_only_for_types_it_binds() -> None:
    facts = {"minutes.submitted.v1", "attendance.recorded.v1"}
    assert more_follows({NEXT_TYPES_HEADER: "attendance.recorded.v1,member.attendance.updated.v1"}, facts)
    assert more_follows({NEXT_TYPES_HEADER: b"minutes.submitted.v1"}, facts)
    assert not more_follows({NEXT_TYPES_HEADER: "member.attendance.updated.v1"}, facts)
    assert not more_follows({}, facts) and not more_follows(None, facts)
