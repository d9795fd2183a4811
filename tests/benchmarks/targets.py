"""A preset's targets as `make bench` prints them and writes them to JSON: each with its value, its bound and whether
it was checked; a target that holds only at full size is still shown below it, marked as not checked."""

from typing import Any


def target(value: float | None, most: float, *, full_size: bool, scale: float) -> dict[str, Any]:
    """One target: {value, max, met, checked[, note]}; `met` is None (and `note` says why) when the target holds
    only at full size and the run is smaller (`full_size` False), or when there is no value (no baseline)."""
    if value is None:
        return {"value": None, "max": most, "met": None, "checked": False, "note": "not checked: no baseline"}
    if not full_size:
        return {
            "value": value,
            "max": most,
            "met": None,
            "checked": False,
            "note": f"not checked at --scale {scale:g} (targets hold at full size)",
        }
    return {"value": value, "max": most, "met": value <= most, "checked": True}


def describe(preset: str, name: str, entry: dict[str, Any]) -> str:
    """The line `make bench` prints for one target (its note after a checked one's verdict)."""
    if not entry.get("checked", True):
        return f"{preset}: target {name} {entry['value']} ≤ {entry['max']}: {entry['note']}"
    verdict = "met" if entry["met"] else "MISSED"
    note = f" ({entry['note']})" if entry.get("note") else ""
    return f"{preset}: target {name} {entry['value']} ≤ {entry['max']}: {verdict}{note}"


def all_met(targets: dict[str, dict[str, Any]]) -> bool:
    """Whether no checked target was missed (an unchecked one misses nothing)."""
    return all(entry["met"] is not False for entry in targets.values())
