"""A Python-built sentence as a person reads it: the names it isolates (shared.text.isolated_name: U+2068 … U+2069,
printed in <bdi> by the pages) show as their text alone."""

from collections.abc import Mapping


def read(text: str) -> str:
    """`text` without the isolates around its names."""
    return text.replace("\u2068", "").replace("\u2069", "")


def read_all(said: Mapping[str, str]) -> dict[str, str]:
    """Each message of `said` (a form's errors by field) as read."""
    return {field: read(text) for field, text in said.items()}
