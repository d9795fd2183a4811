"""Issue 12's fan-out: a backfill through the real broker and the running services publishes each meeting's score
and each cell period about once, not once per one-type batch of its facts.

`province-year` at five cells (about 700 events in one batch message, as a national system sends a year): meetings
relays the transaction's facts as one-type batches (scheduled, documents, attendance, minutes ...). Before issue 12's
fix a scoring round ran between them and published every meeting of a cell provisional, then again final, and its
months, quarters and year with them (1.2-1.3 score messages a meeting, 1.4-1.7 a period, in the benchmark).

The services run with long scoring waits (SCORING_WAITS): with the defaults (0.25 s after small batches, 3 s while
bulk batches flow) a loaded machine makes a round give up waiting for a relay fetch's announced messages, which the
contract allows (a republished score) but which made this count depend on the machine's load: at ten cells in two
batch messages, 246 period messages for 210 periods (1.17) once in 15 runs, in CI's first test and under a load of
two busy processes. With these waits and one batch message: exactly one a meeting and one a period in 8 of 8 runs,
4 of them beside two busy processes.

Then it failed in about 2 of 3 full-suite runs, always with 129 period messages for 105 (never alone): meetings cuts the
705-event batch into three transactions of at most 250 events (services/meetings/handlers/ingest.py
plan_transactions), its relay sent each as it committed, and when the second came more than evaluation's 50 ms settle
after the first one's messages ended, a round scored the cells the first transaction had begun: cb000001's fifteen
2026 periods and three 2025 periods of three other cells published Poor (`no_regular_meeting`), then again with their
meetings, 24 more. With a 1 s pause between the transactions the code before the fix published exactly those 24 (and
12 more at the second gap); now the relay holds a batch's transactions until its last commits (shared.outbox.
RelayHold), so they go out in one fetch, which evaluation waits for whole: 105 for 105 with the same pause.
"""

import json
from pathlib import Path

import pytest

from tests.benchmarks.runs import run_module

MEETING_SLACK = 1.10
PERIOD_SLACK = 1.15
"""Republications allowed: a late fact may still change a score (CONTRACT.md), and a round may start between two
one-type batches when a service runs later than SCORING_WAITS. The code before the fix published 1.2-1.3 a meeting
and 1.18 a period (247 for 210, at ten cells), and a round that ignored the relay's announcement once a later
delivery had begun (a change tried and reverted) 1.15, which these bounds still refuse."""

SCORING_WAITS = {"CHIBO_SCORING_MAX_WAIT_SECONDS": "30", "CHIBO_SCORING_BULK_WAIT_SECONDS": "60"}
"""Evaluation's longest waits for a relay fetch's announced messages before a scoring round (services/evaluation/
config.py): long enough that a loaded machine's slow relay does not split a transaction's facts over two rounds.
At 5 and 10 s, CI's first test in a fresh clone, beside other work starting, saw 129 period messages for 105 (1.23);
the waits only last while announced messages are still coming, so longer ones cost a quiet run nothing."""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_a_backfill_publishes_each_meeting_score_and_cell_period_about_once(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    run_module(
        ["tests.benchmarks", "province-year", "--scale", "0.0005", "--quiet", "3"]
        + ["--no-baseline", "--json", str(out)],
        env=SCORING_WAITS,
        timeout=540,
    )
    [result] = json.loads(out.read_text(encoding="utf-8"))
    chibo = result["chibo"]
    assert chibo["missing_final_scores"] == 0 and chibo["missing_periods"] == 0, chibo
    published = chibo["published"]
    # every meeting scored and every closed period published (the figures above), each about once
    assert chibo["meetings_published"] == chibo["meetings"] > 0
    assert chibo["periods_published"] >= chibo["closed_periods"] > 0
    meeting_messages, period_messages = published["score.meeting.updated.v1"], published["score.cell.updated.v1"]
    assert meeting_messages <= MEETING_SLACK * chibo["meetings_published"], (
        meeting_messages,
        chibo["meetings_published"],
    )
    assert period_messages <= PERIOD_SLACK * chibo["periods_published"], (
        period_messages,
        chibo["periods_published"],
        chibo["periods_republished_first"],
    )
