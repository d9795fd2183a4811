"""Issue 12: meetings re-publishes an applied event's data from the JSON it wrote once when reading it
(Reading.data_json), not from a second dump of the model: for every type, parsed, that JSON is the model's dump."""

import io
import json

from pydantic_core import from_json

from services.meetings.bulk.generate import generate_province
from services.meetings.handlers.ingest import read_raw


def test_the_data_json_of_a_reading_is_the_dump_of_its_model_for_every_type() -> None:
    out = io.StringIO()
    generate_province(out, cells=2, members=34, months=12, through="2026-10")
    by_type: dict[str, list[str]] = {}
    for line in out.getvalue().splitlines():
        by_type.setdefault(json.loads(line)["type"], []).append(line)
    assert len(by_type) >= 10
    for lines in by_type.values():
        for line in lines[:20]:
            reading = read_raw(line)
            assert reading.event is not None, reading.error
            assert from_json(reading.data_json) == reading.event.data.model_dump(mode="json")
