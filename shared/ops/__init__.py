"""What operators work with in every service: parked outbox rows, dead letters (and, in meetings, held events).

The same functions serve each service's RPC methods (reached by the gateway's operator endpoints) and the
command line: `python -m shared.ops outbox|dead-letters ...`.
"""

from datetime import UTC, date, datetime
from typing import Any

from pydantic_core import to_json


def rfc3339(moment: datetime) -> str:
    """`moment` as RFC 3339 text exactly as the API writes it (pydantic's JSON serializer, FastAPI's): UTC as `Z`
    (`2026-12-03T05:20:17.123456Z`), another offset as `+07:00`; a naive one is read as UTC."""
    return to_json(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).decode()[1:-1]


def json_value(value: Any) -> Any:
    """json.dump's `default` for what the command line prints: every time as RFC 3339 (never Python's or
    PostgreSQL's text, `2026-12-03 05:20:17+00`), a date as YYYY-MM-DD, anything else as its text."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
