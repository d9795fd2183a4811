"""Preset `latency`: a steady stream of meeting facts (default 200 events/s for 60 s) into the running services.

The province (tests/benchmarks/month_start.py: members with e-mail, a monitor per cell) is loaded first,
untimed. Then meetings two days ahead arrive at a steady rate, one event per message; each meeting's five
facts (scheduled, roster, minutes, approval, assessment) are spread a second apart, as separate clients
would send them. Figures, from the publish of an event to a result seen on chibo.events:
- event → score published: each `score.meeting.updated.v1` is matched to the event it answers by its
  correlation id (meetings and evaluation carry the incoming event's id); one the services batched under
  another id counts from the latest event of that meeting sent before it;
- event → notice delivered: each e-mail `notification.delivered.v1` of rule meeting_scheduled, from the
  meeting's `meeting.scheduled.v1`; the cell's monitor's alone too (monitor_notice_latency_ms: their mail may
  travel apart from the members' one mail);
- its two stages: event → the fact on chibo.events (meetings' part: ingest, commit, relay) and that fact's
  arrival on chibo.events → notice delivered (notifications' part: consume, commit, send, record, relay), so
  that a lag of one service is told from the other's; evaluation's part is in `score_stages_ms` below (the
  trial's `score_after_fact_ms`, from a `meeting.scheduled.v1` fact's arrival to the score answering that event,
  was always empty, n=0: the meeting is scheduled two days ahead, which changes no score, and an unchanged score
  is not republished, so no score ever answers the scheduled event; dropped);
- `score_stages_ms`: event → score cut at the timestamps the services store (PostgreSQL's clock, each a transaction's
  start): the queue and group wait before meetings' transaction, meetings' transaction and relay, the broker and
  evaluation's consumer, the fact's transaction and the scoring round's wait, the round and evaluation's relay, and
  the broker to the observer; for each first score answering its event, so the stage that grew is told at once;
and the raw baseline at the same rate: event → stage two's row (its commit time), two bare consume-commit-publish
stages as event → meetings → evaluation (the score) and event → meetings → notifications (the notice) each are; so
both the score's p99 and the notice's p99 are given over the baseline's p99.
"""

import asyncio
import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from shared.envelope import now
from shared.periods import VIETNAM_TZ
from shared.topology import INGEST_EXCHANGE, declare_topology
from tests.benchmarks.baseline import IN_EXCHANGE, declare, prepare_stages, stop_stages, wait_consumers
from tests.benchmarks.harness import (
    RESULT_KEYS,
    Observer,
    Outgoing,
    ProcessMeter,
    bench_system,
    percentiles,
    publish_at_rate,
    single_messages,
    wait_until,
)
from tests.benchmarks.month_start import MEMBERS_PER_CELL, lines_of, load_tree, month_start, notified_province
from tests.benchmarks.profiling import Profiler
from tests.support.env import DEFAULT_AMQP_URL, DEFAULT_DATABASE_URL, fresh_database, isolated_vhost

STAGES = 5
"""Facts per meeting (month_start.month_start): scheduled, roster, minutes, approval, assessment."""
SCORE_STAGES = (
    "ingest_wait",
    "meetings_txn_to_relay",
    "relay_to_evaluation_txn",
    "evaluation_txn_to_round",
    "round_to_relay",
    "relay_to_observer",
)
"""The cuts of event → score (score_stages): sent → meetings' transaction began → meetings' relay took the fact →
evaluation's fact transaction began → the scoring round began → evaluation's relay took the score → seen."""
STAGE_TIMES = """
WITH answer AS (
    SELECT DISTINCT ON (correlation_id) correlation_id, created_at, published_at FROM evaluation.outbox
    WHERE type = 'score.meeting.updated.v1' AND correlation_id = ANY($1::text[]) ORDER BY correlation_id, id
), fact AS (
    SELECT DISTINCT ON (correlation_id) correlation_id, event_id, published_at FROM meetings.outbox
    WHERE correlation_id = ANY($1::text[]) AND type NOT LIKE 'member.%' AND type <> 'ingest.rejected.v1'
    ORDER BY correlation_id, id
)
SELECT m.event_id AS cause, extract(epoch FROM m.processed_at) AS meetings_txn,
       extract(epoch FROM fact.published_at) AS meetings_relay, extract(epoch FROM e.processed_at) AS evaluation_txn,
       extract(epoch FROM answer.created_at) AS round, extract(epoch FROM answer.published_at) AS evaluation_relay
FROM meetings.processed_message m
JOIN fact ON fact.correlation_id = m.event_id
JOIN evaluation.processed_message e ON e.event_id = fact.event_id
JOIN answer ON answer.correlation_id = m.event_id
WHERE m.event_id = ANY($1::text[])
"""
"""Per event answered: when meetings' transaction, its relay, evaluation's fact transaction, the scoring round and
evaluation's relay began (epoch seconds), the first fact and the first score carrying the event's id."""


async def score_stages(dsn: str, sent: dict[str, float], seen: dict[str, float]) -> dict[str, Any]:
    """Percentiles (ms) of each SCORE_STAGES cut over the events in both `sent` and `seen` (epoch seconds)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(STAGE_TIMES, sorted(set(sent) & set(seen)))
    finally:
        await conn.close()
    cuts: dict[str, list[float]] = {name: [] for name in SCORE_STAGES}
    for row in rows:
        marks = [sent[row["cause"]]]
        marks += [float(row[name]) for name in ("meetings_txn", "meetings_relay", "evaluation_txn", "round")]
        marks += [float(row["evaluation_relay"]), seen[row["cause"]]]
        for name, begin, end in zip(SCORE_STAGES, marks[:-1], marks[1:], strict=True):
            cuts[name].append(end - begin)
    return {name: percentiles(values) | {"n": len(values)} for name, values in cuts.items()}


def stream(cells: int, *, meetings: int, per_second: float, first_seq: int) -> list[dict[str, Any]]:
    """`meetings` meetings over `cells` cells (each cell one meeting a day, from two days ahead), ordered so
    that a meeting's facts are about a second apart: blocks of `per_second` meetings, stage by stage."""
    events: list[dict[str, Any]] = []
    sent_at = now().replace(microsecond=0)
    per_day: list[list[dict[str, Any]]] = []
    for day in range((meetings + cells - 1) // cells):
        ahead = (now() + timedelta(days=2 + day)).date()
        start = datetime(ahead.year, ahead.month, ahead.day, 19, 30, tzinfo=VIETNAM_TZ)
        count = min(cells, meetings - day * cells)
        facts = month_start(count, first_seq=first_seq + len(events), start=start, suffix=f"lat{day}", at=sent_at)
        events.extend(facts)
        per_day.append(facts)
    by_meeting = [day[i : i + STAGES] for day in per_day for i in range(0, len(day), STAGES)]
    block = max(1, int(per_second // STAGES))
    ordered: list[dict[str, Any]] = []
    for start_index in range(0, len(by_meeting), block):
        group = by_meeting[start_index : start_index + block]
        for stage in range(STAGES):
            ordered.extend(facts[stage] for facts in group if len(facts) > stage)
    return ordered


async def measure(
    amqp_url: str,
    dsn: str,
    pids: dict[str, int],
    *,
    rate: float,
    duration: float,
    timeout: float,
    profiler: Profiler | None,
) -> dict[str, Any]:
    """Load the province, stream at `rate`, wait for every answer; the latencies."""
    await declare_topology(amqp_url)
    total_meetings = max(1, int(rate * duration / STAGES))
    cells = min(total_meetings, 2000)
    tree = notified_province(cells)
    await load_tree(amqp_url, dsn, tree, cells=cells, timeout=timeout)
    events = stream(cells, meetings=total_meetings, per_second=rate, first_seq=len(tree) + 1)
    messages = single_messages(lines_of(events))
    meeting_of = {item["id"]: item["data"]["meeting_id"] for item in events}
    scheduled_ids = {
        item["data"]["meeting_id"]: item["id"] for item in events if item["type"] == "meeting.scheduled.v1"
    }
    sent: dict[str, float] = {}
    wall = time.time() - time.monotonic()  # monotonic → epoch seconds, to compare with the services' timestamps
    answered_at: dict[str, float] = {}
    """event id → epoch seconds its first score arrived (score_stages)."""
    sent_by_meeting: dict[str, list[float]] = {}
    score_latency: list[float] = []
    notice_latency: list[float] = []
    answered: set[str] = set()
    fact_seen: dict[str, float] = {}
    fact_latency: list[float] = []
    notice_after_fact: list[float] = []
    monitor_notice: list[float] = []
    matched = {"by_correlation": 0, "by_meeting": 0}

    def on_sent(message: Outgoing, at: float) -> None:
        for event_id in message.event_ids:
            sent[event_id] = at
            sent_by_meeting.setdefault(meeting_of[event_id], []).append(at)

    def on_result(item: dict[str, Any], at: float) -> None:
        data = item.get("data") or {}
        kind = item.get("type")
        if kind == "score.meeting.updated.v1" and data.get("meeting_id") in sent_by_meeting:
            cause = item.get("correlationid")
            if cause in sent and cause not in answered:
                answered.add(cause)
                answered_at[cause] = at + wall
                matched["by_correlation"] += 1
                score_latency.append(at - sent[cause])
            elif cause not in sent:
                before = [t for t in sent_by_meeting[data["meeting_id"]] if t <= at]
                if before:
                    matched["by_meeting"] += 1
                    score_latency.append(at - max(before))
        elif kind == "meeting.scheduled.v1" and scheduled_ids.get(data.get("meeting_id", "")) in sent:
            if data["meeting_id"] not in fact_seen:  # meetings republishes the fact under an id of its own
                fact_seen[data["meeting_id"]] = at
                fact_latency.append(at - sent[scheduled_ids[data["meeting_id"]]])
        elif (
            kind == "notification.delivered.v1"
            and data.get("rule") == "meeting_scheduled"
            and data.get("channel") == "email"
            and scheduled_ids.get(data.get("subject_id", "")) in sent
        ):
            notice_latency.append(at - sent[scheduled_ids[data["subject_id"]]])
            if str(data.get("recipient", "")).endswith("-uv"):  # the cell's monitor (notified_province)
                monitor_notice.append(notice_latency[-1])
            if data["subject_id"] in fact_seen:
                notice_after_fact.append(at - fact_seen[data["subject_id"]])

    observer = Observer(amqp_url, keys=(*RESULT_KEYS, "meeting.scheduled.v1"), listeners=[on_result])
    await observer.start()
    meter = ProcessMeter(pids)
    try:
        meter.begin()
        if profiler is not None:
            profiler.start()
        started = time.monotonic()
        observer.started = started
        feed_s = await publish_at_rate(amqp_url, INGEST_EXCHANGE, messages, per_second=rate, on_sent=on_sent)
        expected_notices = len(scheduled_ids) * (MEMBERS_PER_CELL + 1)

        async def answered_all() -> bool:
            return set(scheduled_ids) <= observer.final_scores.keys() and len(notice_latency) >= expected_notices

        done, _ = await wait_until(answered_all, timeout=timeout)
        meter.end()
        if profiler is not None:
            profiler.stop()
        elapsed = time.monotonic() - started
        result: dict[str, Any] = {
            "rate": rate,
            "duration_s": duration,
            "events": len(messages),
            "feed_s": round(feed_s, 1),
            "achieved_rate": round(len(messages) / feed_s, 1) if feed_s else None,
            "meetings": len(scheduled_ids),
            "all_answered": done,
            "missing_final_scores": len(set(scheduled_ids) - observer.final_scores.keys()),
            "score_latency_ms": percentiles(score_latency) | {"n": len(score_latency), **matched},
            "notice_latency_ms": percentiles(notice_latency) | {"n": len(notice_latency), "expected": expected_notices},
            "fact_latency_ms": percentiles(fact_latency) | {"n": len(fact_latency)},
            "notice_after_fact_ms": percentiles(notice_after_fact) | {"n": len(notice_after_fact)},
            "monitor_notice_latency_ms": percentiles(monitor_notice) | {"n": len(monitor_notice)},
            "rejected": len(observer.rejections),
            # fan-out: results published (per type) and the messages carrying them
            "published": dict(sorted(observer.counts.items())),
            "result_messages": observer.messages,
            **meter.figures(events=len(messages), seconds=elapsed),
        }
        result["score_stages_ms"] = await score_stages(
            dsn, {event_id: at + wall for event_id, at in sent.items()}, answered_at
        )
        if profiler is not None:
            result["profile"] = profiler.summary()
        return result
    finally:
        await observer.close()


async def measure_baseline(
    amqp_url: str, dsn: str, messages: list[Outgoing], *, rate: float, timeout: float
) -> dict[str, Any]:
    """The same stream through the bare stages: event → stage two's commit, per event."""
    await wait_consumers(amqp_url, timeout=120)
    sent_wall: dict[str, float] = {}

    def on_sent(message: Outgoing, _: float) -> None:
        for event_id in message.event_ids:
            sent_wall[event_id] = time.time()

    await publish_at_rate(amqp_url, IN_EXCHANGE, messages, per_second=rate, on_sent=on_sent)
    conn = await asyncpg.connect(dsn)
    try:

        async def all_seen() -> bool:
            return int(await conn.fetchval("SELECT count(*) FROM baseline.seen")) >= len(messages)

        await wait_until(all_seen, timeout=timeout)
        rows = await conn.fetch("SELECT id, extract(epoch FROM seen_at) AS seen FROM baseline.seen")
    finally:
        await conn.close()
    latency = [float(row["seen"]) - sent_wall[row["id"]] for row in rows if row["id"] in sent_wall]
    return {"events": len(messages), "latency_ms": percentiles(latency) | {"n": len(latency)}}


def run(*, rate: float, duration: float, timeout: float, profile_dir: Path | None, baseline: bool) -> dict[str, Any]:
    """The preset: the stream through chibo, then through the raw baseline at the same rate."""
    print(f"latency: {rate:g} events/s for {duration:g} s, one event per message", flush=True)
    with bench_system() as bench:
        amqp_url, dsn, pids = bench.amqp_url, bench.dsn, bench.pids
        profiler = Profiler(profile_dir, pids) if profile_dir else None
        chibo = asyncio.run(
            measure(amqp_url, dsn, pids, rate=rate, duration=duration, timeout=timeout, profiler=profiler)
        )
    raw: dict[str, Any] = {}
    if baseline:
        meetings = max(1, int(rate * duration / STAGES))
        events = stream(min(meetings, 2000), meetings=meetings, per_second=rate, first_seq=1)
        messages = single_messages([json.dumps(item, ensure_ascii=False).encode() for item in events])
        with isolated_vhost(DEFAULT_AMQP_URL) as amqp_url, fresh_database(DEFAULT_DATABASE_URL) as dsn:
            asyncio.run(declare(amqp_url))
            stages = prepare_stages(amqp_url, dsn, batch=False)
            try:
                raw = asyncio.run(measure_baseline(amqp_url, dsn, messages, rate=rate, timeout=timeout))
            finally:
                stop_stages(stages)
    return {"preset": "latency", "chibo": chibo, "baseline": raw, "ratio": p99_ratios(chibo, raw)}


def p99_ratios(chibo: dict[str, Any], raw: dict[str, Any]) -> dict[str, float | None]:
    """The score's and the notice's p99 (ms) over the baseline's p99 (its two bare stages); None without a
    baseline or a figure."""
    base_p99 = raw.get("latency_ms", {}).get("p99")
    ratios: dict[str, float | None] = {}
    for name, figure in (("score", "score_latency_ms"), ("notice", "notice_latency_ms")):
        p99 = chibo.get(figure, {}).get("p99")
        ratios[f"{name}_p99_over_baseline_p99"] = round(p99 / base_p99, 2) if p99 and base_p99 else None
    return ratios
