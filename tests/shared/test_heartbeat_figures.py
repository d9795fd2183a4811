"""A heartbeat carries its dead-letter figures typed (shared.instances.DeadLetterFigure), beside the attention words
that are only shown: the gateway corrects a stale heartbeat by those figures, whatever words the process said, and a
heartbeat of an older process (no figures) is still shown, its figures taken from its report."""

import time
from datetime import UTC, datetime
from typing import Any

from shared.instances import InstanceBoard, InstanceIdentity, InstanceStatus
from shared.ops.dead_letters import dead_letter_attention

DLQ = "evaluation.facts.dlq"
OTHER = "evaluation.rpc.dlq"


def _heartbeat(attention: list[str], **fields: Any) -> InstanceStatus:
    """A heartbeat as another process sends it over chibo.ops (JSON), `fields` added to its body."""
    now = datetime.now(UTC).isoformat()
    body = {
        "service": "evaluation",
        "instance": "a" * 32,
        "pid": 4242,
        "host": "elsewhere",
        "started_at": now,
        "sent_at": now,
        "http_port": None,
        "status": "degraded",
        "attention": attention,
        **fields,
    }
    return InstanceStatus.model_validate(body)


def test_a_reworded_dead_letter_line_is_corrected_by_its_figure_not_by_its_words() -> None:
    """Trial of the kind: the gateway read the queue back out of `3 dead letters in q.dlq` with a pattern, so a
    process that says it in other words kept its stale line (and its service `degraded`) after a purge."""
    reworded = f"Hàng đợi {DLQ} còn 3 thư chết"
    heartbeat = _heartbeat(
        [reworded, "outbox lag 70 s"],
        report={"database": "ok", "broker": "ok", "dead_letters": {DLQ: 3}, "attention": [reworded, "outbox lag 70 s"]},
        dead_letters=[{"queue": DLQ, "messages": 3, "line": reworded}, {"queue": OTHER, "messages": 0}],
    )
    board = InstanceBoard(window_seconds=10)
    board.record(heartbeat, received=time.monotonic())

    board.measured_dead_letters({DLQ: 1, OTHER: None})
    _, instances, lines = board.view("evaluation")
    assert lines == ["outbox lag 70 s", *dead_letter_attention({DLQ: 1})], lines
    assert instances[0]["dead_letters"] == {DLQ: 1, OTHER: 0}, instances

    board.measured_dead_letters({DLQ: 0})
    verdict, instances, lines = board.view("evaluation")
    assert (verdict, lines) == ("degraded", ["outbox lag 70 s"]), (verdict, lines)
    assert instances[0]["dead_letters"] == {DLQ: 0, OTHER: 0}, instances
    assert board.latest_report("evaluation") == {
        "database": "ok",
        "broker": "ok",
        "dead_letters": {DLQ: 0},
        "attention": ["outbox lag 70 s"],
    }


def test_a_purge_leaves_a_process_whose_only_line_was_its_dead_letters_ok() -> None:
    reworded = f"{DLQ}: 2 letters dead"
    board = InstanceBoard(window_seconds=10)
    board.record(
        _heartbeat(
            [reworded],
            report={"status": "degraded", "database": "ok", "broker": "ok", "dead_letters": {DLQ: 2}},
            dead_letters=[{"queue": DLQ, "messages": 2, "line": reworded}],
        )
    )
    board.measured_dead_letters({DLQ: 0})
    verdict, instances, lines = board.view("evaluation")
    assert (verdict, lines, instances[0]["attention"]) == ("ok", [], []), (verdict, lines, instances)
    assert board.latest_report("evaluation") == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "dead_letters": {DLQ: 0},
    }


def test_a_heartbeat_of_an_older_process_without_figures_is_shown_and_corrected_by_its_report() -> None:
    """A rolling upgrade: a process of the version before the figures sends only words and its /health body; its
    figures are taken from the body's `dead_letters`, its line found as dead_letter_attention says it."""
    line = dead_letter_attention({DLQ: 3})[0]
    board = InstanceBoard(window_seconds=10)
    board.record(_heartbeat([line], report={"database": "ok", "broker": "ok", "dead_letters": {DLQ: 3}}))
    verdict, instances, lines = board.view("evaluation")
    assert (verdict, lines, instances[0]["dead_letters"]) == ("degraded", [line], {DLQ: 3}), (verdict, instances)

    board.measured_dead_letters({DLQ: 0})
    verdict, instances, lines = board.view("evaluation")
    assert (verdict, lines, instances[0]["dead_letters"]) == ("ok", [], {DLQ: 0}), (verdict, instances)

    # one older still, with no dead-letter figure anywhere: shown as it says, nothing to correct
    board = InstanceBoard(window_seconds=10)
    board.record(_heartbeat(["outbox lag 70 s"], report={"database": "ok"}))
    board.measured_dead_letters({DLQ: 0})
    verdict, instances, lines = board.view("evaluation")
    assert (verdict, lines, instances[0]["dead_letters"]) == ("degraded", ["outbox lag 70 s"], None)


def test_a_processs_heartbeat_carries_each_dead_letter_figure_with_the_line_it_said() -> None:
    counts: dict[str, int | None] = {DLQ: 3, OTHER: 0, "meetings.ingest.dlq": None}
    attention = ["outbox lag 70 s", *dead_letter_attention(counts)]
    sent = InstanceIdentity("evaluation").status("degraded", attention, {"dead_letters": counts})
    read = InstanceStatus.model_validate_json(sent.model_dump_json())  # as the gateway reads it off chibo.ops
    assert [(f.queue, f.messages, f.line) for f in read.dead_letters or []] == [
        (DLQ, 3, attention[1]),
        (OTHER, 0, None),
        ("meetings.ingest.dlq", None, None),
    ]
    assert read.attention == attention
    # a process with no dead-letter queue (no figures in its body) sends none
    assert InstanceIdentity("gateway").status("ok", []).dead_letters is None


def test_a_heartbeat_carries_its_database_figure_and_an_older_one_has_it_from_its_report() -> None:
    down = "down: ConnectionRefusedError(111)"
    sent = InstanceIdentity("evaluation").status("degraded", ["Cơ sở dữ liệu không trả lời"], {"database": down})
    assert InstanceStatus.model_validate_json(sent.model_dump_json()).database == down
    board = InstanceBoard(window_seconds=10)
    board.record(_heartbeat([f"database {down}"], report={"database": down}))  # an older process: no figure sent
    _, instances, _ = board.view("evaluation")
    assert instances[0]["database"] == down, instances
