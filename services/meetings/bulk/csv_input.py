"""CSV input of the bulk load: each row of a units, members or monitors table becomes the CloudEvent it describes.

Headers are the contract's field names (`shared/contracts/meetings.py`); an empty cell is null for a field that
may be null, else an absent field (the contract's default applies, a required one is rejected as `data.<field>`),
and a list field (`contact_emails`) holds its items separated by `;`. The events go through exactly the
validation and apply of a JSON-lines load. An event's id is a hash of its type and data, so loading an
unchanged file again finds every row duplicate, and its `time` is the file's "as of" time, so a corrected
row loaded later is the newer snapshot.
"""

import csv
import hashlib
import json
import typing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.contracts import meetings as contract
from shared.contracts.base import EventData
from shared.text import has_text, is_ascii_number, said_or_blank

CSV_SOURCE = "urn:chibo:bulk-csv"
TABLES: dict[str, tuple[str, type[EventData]]] = {
    "units": ("org.unit.upserted.v1", contract.OrgUnitUpserted),
    "members": ("member.upserted.v1", contract.MemberUpserted),
    "monitors": ("monitor.assigned.v1", contract.MonitorAssigned),
}
"""The tables a CSV load accepts, in the order they are loaded (parents before what they contain)."""
LIST_SEPARATOR = ";"


class CsvFormatError(ValueError):
    """The file is not a table of the expected shape (unknown column, a row longer than the header)."""


def csv_events(path: Path, *, table: str, source: str, at: datetime) -> Iterator[str]:
    """The rows of one CSV table as CloudEvent JSON lines, in file order."""
    event_type, model = TABLES[table]
    list_fields = {name for name, info in model.model_fields.items() if _is_list(info.annotation)}
    nullable = {name for name, info in model.model_fields.items() if _accepts_none(info.annotation)}
    scalars = {name: _scalar_of(info.annotation) for name, info in model.model_fields.items()}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        headers = [name.strip() for name in reader.fieldnames or []]
        unknown = sorted(set(headers) - set(model.model_fields))
        if unknown or not headers:
            raise CsvFormatError(
                f"{path.name}: columns {unknown or '(none)'} are not fields of {event_type}"
                f" (expected some of {sorted(model.model_fields)})"
            )
        reader.fieldnames = headers
        for row in reader:
            if None in row:
                raise CsvFormatError(f"{path.name}, line {reader.line_num}: more cells than columns")
            data = _row_data(row, list_fields=list_fields, nullable=nullable, scalars=scalars)
            yield json.dumps(
                {
                    "specversion": "1.0",
                    "id": _event_id(event_type, data),
                    "source": source,
                    "type": event_type,
                    "time": at.isoformat(),
                    "datacontenttype": "application/json",
                    "data": data,
                },
                ensure_ascii=False,
            )


def count_rows(path: Path) -> int:
    """Data rows of a CSV file (for the progress bar's total)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def _row_data(
    row: dict[str, Any], *, list_fields: set[str], nullable: set[str], scalars: dict[str, type | None]
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in row.items():
        text = said_or_blank(value)  # only spaces or invisible characters (U+200B, U+2060...) are an empty cell
        if not text:
            if name in nullable:
                data[name] = None  # e.g. a province committee's parent_id: required, and null
            continue  # otherwise an absent field: the contract's default or a rejection naming it
        if name in list_fields:
            data[name] = [said_or_blank(item) for item in text.split(LIST_SEPARATOR) if has_text(item)]
        else:
            data[name] = _cell_value(text, scalars.get(name))
    return data


def _cell_value(text: str, scalar: type | None) -> Any:
    """A CSV cell as the JSON value it writes: `true`/`false` for a boolean field, digits for an integer one.

    Anything else stays text, so the strict data model rejects it naming the field (CONTRACT.md reads
    types strictly: the conversion is the CSV format's, not a coercion of JSON input).
    """
    if scalar is bool and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if scalar is int and is_ascii_number(text.lstrip("-")):
        return int(text)
    return text


def _scalar_of(annotation: Any) -> type | None:
    """bool or int when a field's type (under Optional/Annotated) is one of them."""
    for candidate in (annotation, *typing.get_args(annotation)):
        base = typing.get_args(candidate)[0] if typing.get_origin(candidate) is typing.Annotated else candidate
        if base is bool or base is int:
            return bool if base is bool else int
    return None


def _event_id(event_type: str, data: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([event_type, data], sort_keys=True, ensure_ascii=False).encode())
    return "csv-" + digest.hexdigest()[:32]


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _accepts_none(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)
