"""Issue 11, fault 8: no token in any log line, and every value bounded (an 8 KB header is not logged verbatim)."""

import json
import logging

from shared.logs import MAX_VALUE_CHARS, configure_logging, get_logger

TOKEN = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzZWMtMSIsInJvbGUiOiJzZWNyZXRhcnkifQ.c2lnbmF0dXJlLWJ5dGVz"


def lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_the_access_log_redacts_tokens_sent_in_the_query_string(capsys) -> None:  # type: ignore[no-untyped-def]
    configure_logging(service="gateway", json=True)
    # exactly how uvicorn's access logger formats a request line
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "203.0.113.7:4711", "GET", f"/v1/me?access_token={TOKEN}&limit=5", "1.1", 200
    )
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "203.0.113.7:4711", "GET", f"/v1/me?token={TOKEN[:20]}", "1.1", 401
    )
    captured = capsys.readouterr().err
    assert TOKEN not in captured and TOKEN[:20] not in captured
    events = [line["event"] for line in lines(captured)]
    assert events == [
        '203.0.113.7:4711 - "GET /v1/me?access_token=[redacted]&limit=5 HTTP/1.1" 200',
        '203.0.113.7:4711 - "GET /v1/me?token=[redacted] HTTP/1.1" 401',
    ]


def test_structured_fields_never_carry_tokens_and_are_bounded(capsys) -> None:  # type: ignore[no-untyped-def]
    configure_logging(service="gateway", json=True)
    get_logger("test").warning(
        "request_refused",
        authorization=f"Bearer {TOKEN}",
        correlation_id="x" * 8192,
        detail=f"bad token {TOKEN}",
    )
    captured = capsys.readouterr().err
    [line] = lines(captured)
    assert TOKEN not in captured
    assert line["authorization"] == "[redacted]"
    assert line["detail"] == "bad token [redacted-token]"
    correlation = str(line["correlation_id"])
    assert len(correlation) < MAX_VALUE_CHARS + 40 and correlation.endswith(f"…[{8192 - MAX_VALUE_CHARS} more chars]")


def test_the_framework_lines_follow_the_configured_level(capsys) -> None:  # type: ignore[no-untyped-def]
    import faststream  # noqa: F401  (sets its logger to INFO at import)

    configure_logging(service="meetings", level="WARNING", json=True)
    try:
        # FastStream's per-message lines (received, processed) are INFO: silent under CHIBO_LOG_LEVEL=WARNING
        logging.getLogger("faststream.meetings").info("Received")
        logging.getLogger("faststream.meetings").warning("Consumer lost")
        assert [line["event"] for line in lines(capsys.readouterr().err)] == ["Consumer lost"]
    finally:
        configure_logging(service="gateway", json=True)
    logging.getLogger("faststream.meetings").info("Processed")
    assert [line["event"] for line in lines(capsys.readouterr().err)] == ["Processed"]
