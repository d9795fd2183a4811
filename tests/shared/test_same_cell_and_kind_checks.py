"""The contradiction checks evaluation and notifications each wrote out (h385: now shared.consuming.check_same_cell
and check_same_kind): the same field, message and rule as each service's own copy said, which the gateway's
operations page reads back (services.gateway.web.reasons.CONTRADICTION)."""

import pytest

from services.gateway.web.reasons import CONTRADICTION
from shared.consuming import Contradiction, check_same_cell, check_same_kind


def test_a_meeting_sent_under_another_cell_is_refused_as_each_consumer_refused_it() -> None:
    check_same_cell("m1", held=None, sent="c1")  # not known yet
    check_same_cell("m1", held="c1", sent="c1")
    with pytest.raises(Contradiction) as refused:
        check_same_cell("m1", held="c2", sent="c1")
    said = "data.cell_id: meeting m1 is 'c2' here, the event says 'c1'; a meeting never changes cell"
    assert (str(refused.value), refused.value.field) == (said, "data.cell_id")
    read = CONTRADICTION.match(said)
    assert read is not None and read.group("field", "held", "sent") == ("data.cell_id", "'c2'", "'c1'")


def test_a_unit_sent_as_another_kind_is_refused_as_each_consumer_refused_it() -> None:
    check_same_kind("u1", held=None, sent="cell")
    check_same_kind("u1", held="cell", sent="cell")
    with pytest.raises(Contradiction) as refused:
        check_same_kind("u1", held="committee", sent="cell")
    said = "data.kind: unit u1 is 'committee' here, the event says 'cell'; a unit never changes kind"
    assert (str(refused.value), refused.value.field) == (said, "data.kind")
    assert CONTRADICTION.match(said) is not None
