"""In-process micro-benchmark of reading one event per delivery (issue 12): CPU µs per delivery of reading and
validating it, nothing of the database or the broker.

    .venv/bin/python -m tests.benchmarks.reading_path [--cells 5] [--copies 4] [--repeat 3]

The events are the `single` preset's (`python -m services.meetings generate-province`), one per delivery, as aio-pika
hands them over, in three forms: `structured` (the generator's compact body, application/cloudevents+json),
`binary` (attributes as `ce-` headers, data as json.dumps writes it) and `binary-compact` (data in compact JSON).
- `meetings`: meetings.ingest's `ingest_judged` up to the group commit (its `singles.submit` only collects: content
  mode, envelope, typed data, plausibility, the data as passed on, ignored fields), then each reading's footprint;
- `consumer`: what evaluation and notifications do with a single delivery before their transaction
  (shared.consuming.read_delivery, then read_event), over the org-unit and member events they take.
Run it in two trees (a copy of main, then this) to compare: the tree is the one `services` is imported from.
"""

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aio_pika
from aiormq.abc import DeliveredMessage
from faststream.rabbit.message import RabbitMessage
from pamqp import commands
from pamqp.header import ContentHeader

from services.meetings.consumers import ingest_judged
from shared.consuming import read_delivery
from shared.contracts.registry import read_event
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.logs import configure_logging
from shared.topology import EVENTS_EXCHANGE, INGEST_EXCHANGE

FORMS = ("structured", "binary", "binary-compact")
CONSUMER_TYPES = ("org.unit.upserted.v1", "member.upserted.v1")
"""The single-preset types evaluation and notifications take (the rest they never receive from the generator)."""


class _Channel:
    is_closed = False


def generated(cells: int) -> list[bytes]:
    """The generator's event lines for `cells` cells and a year (17 members a cell, as the presets)."""
    with tempfile.TemporaryDirectory() as workdir:
        out = Path(workdir) / "events.jsonl"
        subprocess.run(
            [sys.executable, "-m", "services.meetings", "generate-province", "--cells", str(cells)]
            + ["--members", str(cells * 17), "--months", "12", "--out", str(out)],
            check=True,
            capture_output=True,
        )
        return out.read_bytes().splitlines()


def message(line: bytes, tag: int, form: str, exchange: str) -> RabbitMessage:
    """One delivery of the event `line` in `form`, as the light delivery path makes its message."""
    event = json.loads(line)
    headers: dict[str, Any] | None = None
    body, content_type = line, CLOUDEVENT_CONTENT_TYPE
    if form != "structured":
        data = event.pop("data")
        event.pop("datacontenttype", None)
        headers = {f"ce-{name}": value for name, value in event.items()}
        separators = (",", ":") if form == "binary-compact" else None
        body, content_type = json.dumps(data, ensure_ascii=False, separators=separators).encode(), "application/json"
    properties = commands.Basic.Properties(content_type=content_type, message_id=f"msg-{tag}", headers=headers)
    raw = aio_pika.IncomingMessage(
        DeliveredMessage(
            delivery=commands.Basic.Deliver(
                consumer_tag="bench", delivery_tag=tag, routing_key=event["type"], exchange=exchange
            ),
            header=ContentHeader(body_size=len(body), properties=properties),
            body=body,
            channel=_Channel(),  # type: ignore[arg-type]
        ),
        no_ack=False,
    )
    return RabbitMessage(
        body=raw.body,
        headers=raw.headers,
        reply_to="",
        content_type=raw.content_type,
        message_id=raw.message_id or "",
        correlation_id="",
        raw_message=raw,
    )


async def read_in_meetings(messages: list[RabbitMessage]) -> None:
    """Each delivery through meetings' ingest_judged, its reading collected instead of judged; then its footprint."""
    readings: list[Any] = []

    class Singles:
        async def submit(self, item: Any) -> None:
            readings.append(item[0])

    settings = SimpleNamespace(amqp_url="amqp://guest:guest@127.0.0.1/", system_publishers=[])
    app: Any = SimpleNamespace(settings=settings, singles=Singles())
    for each in messages:
        await ingest_judged(each, app)
    for reading in readings:
        assert reading.event is not None, reading.error
        reading.footprint  # noqa: B018 (the group commit's keys, worked out before the transaction)


def read_in_consumer(messages: list[RabbitMessage]) -> None:
    """Each delivery as evaluation and notifications read a single event before their transaction."""
    for each in messages:
        read_event(read_delivery(each.raw_message))


def measure(lines: list[bytes], *, side: str, form: str, copies: int, repeat: int) -> float:
    """Median µs of process CPU per delivery over `repeat` passes (after one to warm up)."""
    if side == "consumer":
        lines = [line for line in lines if json.loads(line)["type"] in CONSUMER_TYPES]
    exchange = INGEST_EXCHANGE if side == "meetings" else EVENTS_EXCHANGE
    passes = []
    for attempt in range(repeat + 1):
        messages = [message(line, tag, form, exchange) for tag, line in enumerate(lines * copies, start=1)]
        start = time.process_time()
        if side == "meetings":
            asyncio.run(read_in_meetings(messages))
        else:
            read_in_consumer(messages)
        if attempt:
            passes.append((time.process_time() - start) / len(messages) * 1e6)
    return statistics.median(passes)


def main() -> None:
    """Parse the options, measure each side and form, print one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--copies", type=int, default=4, help="each event read this many times a pass")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure_logging(service="meetings", level="WARNING", json=True)
    lines = generated(args.cells)
    figures: dict[str, Any] = {"tree": str(Path(sys.modules["shared.bindings"].__file__ or "").parents[1])}
    for side in ("meetings", "consumer"):
        for form in FORMS:
            median = measure(lines, side=side, form=form, copies=args.copies, repeat=args.repeat)
            figures[f"{side}/{form}"] = round(median, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
