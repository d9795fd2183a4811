"""A new user's trial: the operations page said a dead letter refused by the publisher check (`user_id: broker user
'guest' may not publish meeting.scheduled.v1, which only meetings publishes (as 'chibo-meetings')`) only as "a reason
not known here", with the English beneath; a misrouted event and a fact contradicting what a service holds were said
as "the event could not be read … the value is not valid".

Project-wide: every place a consumer writes a dead letter's cause (`x-chibo-reason`) is found in the code, each kind
of cause it passes there is produced by its own function here, and each gets a Vietnamese explanation of its own."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.gateway.web import reasons
from services.gateway.web.i18n import translations
from shared.consuming import Contradiction, Publishers, check_unchanged, misrouted_reason, publisher_refusal
from shared.contracts.registry import OWNERS, REGISTRY

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {"_dead_letter_delivery": "cause", "dead_letter_delivery": "cause", "_dead_letter_item": 1}
"""The functions a consumer writes a dead letter's cause through, and the argument that is the cause."""
KINDS = {
    "exc.reason": "an event refused: unreadable (REJECTIONS, tested with the rejections) or contradicting state",
    "misrouted": "misrouted_reason",
    "refused": "publisher_refusal",
    "repr(exc)": "a handler's error (DEAD_LETTER_CAUSES, test_operations_labels)",
    "bounded(repr(exc))": "a handler's error (DEAD_LETTER_CAUSES, test_operations_labels)",
    "cause": "passed on by _dead_letter_delivery",
    "item.reason": "a batch item's: one of the above",
    "reason": "passed on by _dead_letter_item",
}
"""Each kind of cause the code passes to a WRITERS function, by its expression."""
GENERIC = ("The value is not valid.", reasons.UNKNOWN_CAUSE)


def _sources() -> Iterator[Path]:
    for folder in ("shared", "services"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "gateway" not in path.parts:
                yield path


def written_causes() -> set[str]:
    """The expressions the code passes as a dead letter's cause (WRITERS), and the batch items' `item.reason`."""
    found: set[str] = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                where = WRITERS.get(name)
                if isinstance(where, int) and len(node.args) > where:
                    found.add(ast.unparse(node.args[where]))
                found.update(
                    ast.unparse(kw.value) for kw in node.keywords if isinstance(where, str) and kw.arg == where
                )
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                for target in node.targets:
                    if isinstance(target, ast.Tuple):
                        for element, value in zip(target.elts, node.value.elts, strict=False):
                            if ast.unparse(element) == "item.reason":
                                found.add(ast.unparse(value))
    return found


def contradictions() -> list[str]:
    """The cause check_unchanged writes for every call of it in the code (its field and rule as written there)."""
    causes: list[str] = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check_unchanged":
                field = ast.literal_eval(node.args[0])
                rule = next(ast.literal_eval(kw.value) for kw in node.keywords if kw.arg == "rule")
                with pytest.raises(Contradiction) as refused:
                    check_unchanged(
                        field, subject="meeting m-1", held="demo-cb-thon-2", sent="demo-cb-thon-1", rule=rule
                    )
                causes.append(refused.value.reason)
    return causes


def produced_causes() -> list[str]:
    """A cause of each consumer-specific kind for every event type it can name: refused publishers (with and without
    user_id), misrouted events, contradictions."""
    publishers = Publishers("chibo-evaluation", {owner: frozenset({f"chibo-{owner}"}) for owner in OWNERS.values()})
    causes = [publisher_refusal(kind, user, publishers) for kind in OWNERS for user in ("guest", None)]
    causes += [
        misrouted_reason(kind, "meeting.cancelled.v1" if kind != "meeting.cancelled.v1" else "x") for kind in REGISTRY
    ]
    return [cause for cause in causes if cause is not None] + contradictions()


def test_every_kind_of_cause_a_consumer_writes_is_known_here() -> None:
    """A new way of writing a dead letter's cause must come with its explanation (and a line in KINDS)."""
    written = written_causes()
    assert written, "no dead-letter writer found: WRITERS is out of date"
    assert written <= set(KINDS), written - set(KINDS)


@pytest.mark.parametrize("cause", produced_causes())
def test_every_consumer_refusal_has_a_vietnamese_explanation_of_its_own(cause: str) -> None:
    said = reasons.explain_dead_letter(cause)
    assert said is not None
    for generic in GENERIC:
        assert translations().gettext(generic) not in said, (cause, said)
    assert said != cause and "the event" not in said, said


def test_a_publisher_refusal_says_who_published_which_service_may_and_what_to_do() -> None:
    cause = (
        "user_id: broker user 'guest' may not publish meeting.scheduled.v1, which only meetings publishes"
        " (as 'chibo-meetings'); not applied"
    )
    said = reasons.explain_dead_letter(cause) or ""
    assert "tài khoản “guest”" in said and "dịch vụ meetings (tài khoản “chibo-meetings”)" in said, said
    assert "Gửi lại tin nhắn này không có tác dụng" in said and "hãy xóa tin nhắn này" in said, said


def test_a_contradiction_names_the_field_and_both_values() -> None:
    [cause, *_rest] = [cause for cause in contradictions() if cause.startswith("data.cell_id")]
    said = reasons.explain_dead_letter(cause) or ""
    assert said.startswith("Chi bộ: sự kiện ghi “demo-cb-thon-1”, nhưng dịch vụ đang giữ “demo-cb-thon-2”"), said
