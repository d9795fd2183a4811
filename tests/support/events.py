"""Raw events (as a feed sends them, before parse_envelope) that more than one test builds."""

from typing import Any

TWELVE_DIGITS_TIME = "2026-11-01T08:00:00.123456789012+07:00"
"""A trial's `time` with twelve fraction digits, which RFC 3339 allows (`time-secfrac = "." 1*DIGIT`)."""


def raw_unit_upserted(time: str) -> dict[str, Any]:
    """A structured-mode org.unit.upserted.v1 event (a dict, JSON's shape) of cell c1 under w1, sent at `time` (any
    text: the tests of envelope times pass it as they would send it)."""
    return {
        "specversion": "1.0",
        "id": "evt-1",
        "source": "urn:test:feed",
        "type": "org.unit.upserted.v1",
        "time": time,
        "data": {"id": "c1", "name": "Chi bộ", "kind": "cell", "parent_id": "w1"},
    }
