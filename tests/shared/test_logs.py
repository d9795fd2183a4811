"""Log lines written while handling a message carry its identity, and nesting restores it."""

import structlog
from structlog.testing import capture_logs

from shared.logs import get_logger, message_context


def test_lines_inside_a_message_carry_its_id_type_and_correlation_id() -> None:
    log = get_logger("test")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as lines:
        with message_context(event_id="e1", event_type="meeting.scheduled.v1", correlation_id="c1", source="urn:x"):
            log.info("outer_before")
            with message_context(event_id="e2", event_type="attendance.recorded.v1", correlation_id="c1"):
                log.info("inner")
            log.info("outer_after")
        log.info("outside")

    by_event = {line["event"]: line for line in lines}
    assert by_event["outer_before"]["event_id"] == "e1"
    assert by_event["inner"]["event_id"] == "e2"
    assert by_event["inner"]["event_type"] == "attendance.recorded.v1"
    assert by_event["outer_after"]["event_id"] == "e1"
    assert by_event["outer_after"]["correlation_id"] == "c1"
    assert "event_id" not in by_event["outside"]


def test_the_framework_writes_its_per_message_lines_below_the_services_level() -> None:
    import logging

    from shared.config import ServiceSettings
    from shared.runtime import create_broker

    broker = create_broker(ServiceSettings(), service="probe")
    # "Received"/"Processed" go out at this level; the middleware passes ERROR explicitly for a handler's error
    assert broker.config.logger.log_level == logging.DEBUG
    assert logging.getLevelName(ServiceSettings().log_level) > logging.DEBUG
