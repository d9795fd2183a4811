"""A framework's bands and gates applied to a meeting's item lines: the one rule evaluation scores by and the gateway
explains by (DOMAIN.md "Quality evaluation": bands apply to the unrounded score; the gate, full points on the gated
items, turns Good into Fair). Which items a gate names is framework data (`gates` of shared/contracts/framework_data,
or of a framework adopted at run time), never repeated in code."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class GateRule(Protocol):
    """A gate of a framework: `rating` needs full points on `items`, else drops to `demote_to`."""

    @property
    def rating(self) -> str: ...
    @property
    def items(self) -> Sequence[str]: ...
    @property
    def demote_to(self) -> str: ...


@dataclass(frozen=True)
class Gate:
    """A gate read from a framework document's dict (the gateway's copy of it)."""

    rating: str
    items: tuple[str, ...]
    demote_to: str


@dataclass(frozen=True)
class ItemResult:
    """What a gate reads of an item's line: points (None: not assessed yet, counts as short), maximum, applicable."""

    points: float | None
    max: float
    applicable: bool


@dataclass(frozen=True)
class GateOutcome:
    """The rating after the gates, the band's rating before them, and the gated items short of full points that
    lowered it (in the gates' order; empty when no gate applied)."""

    rating: str
    by_points: str
    items_short: tuple[str, ...]

    @property
    def applied(self) -> bool:
        """Whether a gate lowered the rating."""
        return bool(self.items_short)


def band_of(bands: Iterable[tuple[str, float]], score: float) -> str:
    """The rating of an unrounded score (0–100) by bands (rating, minimum): the highest minimum reached; `poor`
    when none is (a framework has a band at 0, so only a negative score)."""
    for rating, minimum in sorted(bands, key=lambda band: band[1], reverse=True):
        if score >= minimum:
            return rating
    return "poor"


def apply_gates(rating: str, gates: Sequence[GateRule], lines: Mapping[str, ItemResult]) -> GateOutcome:
    """Each gate in order: a rating equal to the gate's drops to its `demote_to` when an applicable gated item in
    `lines` (item code -> its result) is below its maximum (no points yet counts as below); an item not in `lines` or
    not applicable is not judged."""
    by_points = rating
    short_items: list[str] = []
    for gate in gates:
        if rating != gate.rating:
            continue
        short = [
            code
            for code in gate.items
            if code in lines and lines[code].applicable and (lines[code].points or 0.0) < lines[code].max
        ]
        if short:
            rating = gate.demote_to
            short_items.extend(code for code in short if code not in short_items)
    return GateOutcome(rating=rating, by_points=by_points, items_short=tuple(short_items))


def document_gates(document: Mapping[str, Any]) -> tuple[list[tuple[str, float]], list[Gate]]:
    """A framework document's bands (rating, minimum) and gates, as evaluation stores and answers it (a dict);
    ValueError or KeyError for a document without well-formed bands or gates (a missing `gates` is no gate)."""
    bands = [(str(band["rating"]), float(band["min"])) for band in document.get("bands") or ()]
    gates = [
        Gate(
            rating=str(gate["rating"]),
            items=tuple(str(code) for code in gate["items"]),
            demote_to=str(gate["demote_to"]),
        )
        for gate in document.get("gates") or ()
    ]
    if gates and not bands:
        raise ValueError("a framework with gates and no bands")
    return bands, gates
