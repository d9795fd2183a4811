"""Log lines written while handling a message carry its identity, and nesting restores it."""

import json

import structlog
from structlog.testing import capture_logs

from shared.logs import get_logger, merge_message_context, message_context


def test_lines_inside_a_message_carry_its_id_type_and_correlation_id() -> None:
    log = get_logger("test")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars, merge_message_context]) as lines:
        with message_context(event_id="e1", event_type="meeting.scheduled.v1", correlation_id="c1", source="urn:x"):
            log.info("outer_before")
            with message_context(event_id="e2", event_type="attendance.recorded.v1", correlation_id="c1"):
                log.info("inner")
                log.info("named", event_id="e3")
            log.info("outer_after")
        log.info("outside")

    by_event = {line["event"]: line for line in lines}
    assert by_event["outer_before"]["event_id"] == "e1"
    assert by_event["inner"]["event_id"] == "e2"
    assert by_event["inner"]["event_type"] == "attendance.recorded.v1"
    assert by_event["named"]["event_id"] == "e3"  # a field the line names itself wins
    assert by_event["named"]["event_type"] == "attendance.recorded.v1"
    assert by_event["outer_after"]["event_id"] == "e1"
    assert by_event["outer_after"]["correlation_id"] == "c1"
    assert "event_id" not in by_event["outside"]
    assert by_event["outer_before"]["event_source"] == "urn:x"


def test_the_framework_writes_its_per_message_lines_below_the_services_level() -> None:
    import logging

    from shared.config import ServiceSettings
    from shared.runtime import create_broker

    broker = create_broker(ServiceSettings(), service="probe")
    # "Received"/"Processed" go out at this level; the middleware passes ERROR explicitly for a handler's error
    assert broker.config.logger.log_level == logging.DEBUG
    assert logging.getLevelName(ServiceSettings().log_level) > logging.DEBUG


def test_a_service_line_written_for_a_message_carries_its_identity(capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    from shared.logs import configure_logging

    configure_logging(service="probe", json=True)
    log = get_logger("test")
    with message_context(event_id="e9", event_type="meeting.cancelled.v1", correlation_id="c9", source="urn:y"):
        log.warning("inside")
    log.warning("after")
    lines = {
        line["event"]: line
        for line in (json.loads(text) for text in capsys.readouterr().err.splitlines() if text.startswith("{"))
    }
    assert lines["inside"]["event_id"] == "e9"
    assert lines["inside"]["correlation_id"] == "c9"
    assert lines["inside"]["event_source"] == "urn:y"
    assert lines["inside"]["service"] == "probe"
    assert "event_id" not in lines["after"]


def test_lines_go_to_stderr_as_it_is_when_written_not_as_it_was_when_configured(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A test's captured stderr is closed after it: a handler that kept it sent every later test's lines there
    ('--- Logging error --- ValueError: I/O operation on closed file' in the suite's output)."""
    import io
    import logging

    from shared.logs import configure_logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, structlog.get_config())
    first, second = io.StringIO(), io.StringIO()
    try:
        monkeypatch.setattr("sys.stderr", first)
        configure_logging(service="probe", json=True)
        first.close()  # as pytest closes a finished test's captured stream
        monkeypatch.setattr("sys.stderr", second)
        logging.getLogger("probe.stdlib").warning("written_after_the_swap")
        get_logger("probe.structlog").warning("structlog_after_the_swap")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        structlog.configure(**saved[2])
    written = second.getvalue()
    assert "Logging error" not in written, written
    events = {json.loads(line)["event"] for line in written.splitlines()}
    assert {"written_after_the_swap", "structlog_after_the_swap"} <= events, written


def test_capture_logs_reads_a_module_logger_first_used_under_an_earlier_configuration(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A module's logger (bound at import) is cached on first use after configure_logging; the next configure_logging
    of the process (every service app built in a test) made a new processor list, so capture_logs, which swaps the
    current list's contents, missed that logger's lines and they went to stderr (tests/shared/test_outages.py saw none
    of shared.outages' lines in the full run)."""
    import io
    import logging

    from shared import logs

    root = logging.getLogger()
    config = structlog.get_config()
    saved = (root.handlers[:], root.level, config, list(config["processors"]))
    monkeypatch.setattr(logs, "_configured_service", logs._configured_service)
    written = io.StringIO()
    monkeypatch.setattr("sys.stderr", written)
    module_log = get_logger("probe.module")  # as `log = get_logger(__name__)` at a module's import
    try:
        logs.configure_logging(service="probe", json=True)
        module_log.info("first_use")  # cached now (cache_logger_on_first_use)
        logs.configure_logging(service="probe", json=True)  # a second service app built in the same process
        with capture_logs() as lines:
            module_log.warning("read_by_the_test", held=3)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        saved[2]["processors"][:] = saved[3]
        structlog.configure(**saved[2])
    assert lines == [{"event": "read_by_the_test", "held": 3, "log_level": "warning"}], written.getvalue()
    assert "read_by_the_test" not in written.getvalue()


async def test_a_run_of_events_handled_at_once_names_its_first_event_and_no_made_up_event_id() -> None:
    """A batch handler's run of events was logged as `event_id` "<first id>+<n>", which no event has: `event_id` is
    only ever a CloudEvents `id`. The run names its first event's as `first_event_id` and its size as `run_events`."""
    from typing import Any

    from shared.consuming import _handle, _Plan
    from shared.envelope import Event, parse_envelope

    def event(event_id: str) -> Event[Any]:
        envelope = parse_envelope(
            {
                "specversion": "1.0",
                "id": event_id,
                "source": "urn:test:feed",
                "type": "meeting.cancelled.v1",
                "time": "2026-01-05T09:00:00+07:00",
                "correlationid": "c7",
                "data": {},
            }
        )
        return Event(envelope=envelope, data={})

    log = get_logger("test")

    async def apply_run(events: Any, uow: Any) -> None:
        log.info("run_applied")

    async def apply_one(one: Any, uow: Any) -> None:
        log.info("one_applied")

    plan = _Plan("probe.events", {}, {"meeting.cancelled.v1": apply_run}, lambda: None, None)  # type: ignore[arg-type,return-value]
    three: list[Any] = [(event(name), apply_one) for name in ("e1", "e2", "e3")]
    one: list[Any] = [(event("e4"), apply_one)]
    with capture_logs(processors=[merge_message_context]) as lines:
        await _handle(plan, three, None)  # type: ignore[arg-type]
        await _handle(plan, one, None)  # type: ignore[arg-type]
    run, alone = [line for line in lines if line["event"] == "run_applied"]
    assert "event_id" not in run and (run["first_event_id"], run["run_events"]) == ("e1", 3), run
    assert (run["event_type"], run["correlation_id"]) == ("meeting.cancelled.v1", "c7")
    assert alone["event_id"] == "e4" and "first_event_id" not in alone


def test_a_lines_service_is_always_the_emitting_one_even_if_a_call_names_another(capsys) -> None:  # type: ignore[no-untyped-def]
    """A trial found the gateway's `service_unavailable` lines saying `"service": "meetings"` (the silent service
    passed as `service=`): filtering by service=gateway missed them and they read as meetings' own lines."""
    from shared.logs import configure_logging

    configure_logging(service="gateway", json=True)
    get_logger("probe").warning("named_another", service="meetings")
    [line] = [json.loads(text) for text in capsys.readouterr().err.splitlines() if '"named_another"' in text]
    assert line["service"] == "gateway", line


def test_no_log_call_in_the_project_names_a_service_of_its_own() -> None:
    """`service` on a line is the emitting service, added by shared.logs; a call passing `service=` means another one
    (the dependency that did not answer, an instance watched) and belongs in a field named for what it is."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    methods = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg", "log", "bind"}
    found = []
    for path in sorted([*root.joinpath("services").rglob("*.py"), *root.joinpath("shared").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr in methods and any(keyword.arg == "service" for keyword in node.keywords):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == [], found
