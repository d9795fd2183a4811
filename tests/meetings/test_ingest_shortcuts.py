"""Shortcuts of meetings' batch ingest taken for CPU (issue 12) give what the slower forms they replace give."""

import inspect
import json
from dataclasses import replace

from pydantic import BaseModel

from services.meetings.handlers import locks
from services.meetings.handlers.ingest import Reading, read_raw, with_message_id
from shared.contracts import meetings as contract
from tests.meetings import events as ev


class _LaterMinutes(contract.MinutesSubmitted):
    """A subclass of a model locks_for tells apart: it is locked as its parent is."""


def test_a_reading_with_its_message_id_is_the_one_replace_makes() -> None:
    good = read_raw(json.loads(json.dumps(ev.member("mem-1", "cell-1"))))
    bad = read_raw({"specversion": "1.0", "id": "e-1"})
    warm = read_raw(json.loads(json.dumps(ev.unit("cell-1"))))
    assert warm.footprint and warm.digest  # cached values computed before the copy
    for reading in (good, bad, warm):
        for message_id in ("amqp-batch-9", None):
            fresh = with_message_id(reading, message_id)
            expected = replace(reading, message_id=message_id)
            assert type(fresh) is Reading and fresh == expected and fresh is not reading
            assert (fresh.locks, fresh.footprint, fresh.digest) == (expected.locks, expected.footprint, expected.digest)
    assert reading.message_id is None  # the original is untouched


def test_locks_for_tells_each_data_model_apart_as_the_isinstance_chain_did() -> None:
    models: list[type] = [
        model
        for _, model in inspect.getmembers(contract, inspect.isclass)
        if issubclass(model, BaseModel) and model is not BaseModel
    ] + [_LaterMinutes]
    assert set(locks._KINDS) <= set(models)
    for data in [object.__new__(model) for model in models] + [{}, "text"]:  # instances, unvalidated: only their class
        first = next((kind for kind in locks._KINDS if isinstance(data, kind)), None)
        assert locks._kind_of(data) is first, type(data)
        assert locks._kind_of(data) is first, type(data)  # the second time from the memo
    assert locks._kind_of(object.__new__(_LaterMinutes)) is contract.MinutesSubmitted
