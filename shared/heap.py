"""The cyclic garbage collector tuned for a service's work once it has started (issue 12)."""

import gc

YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two young collections (CPython's default is 700): a batch of a thousand facts, its rows and
results live through many young collections at 700, each walking them again (issue 12)."""

_frozen = False
"""Whether this process has frozen its start-up heap already."""


def freeze_startup_heap() -> None:
    """Once per process, after a service's start-up: what start-up built (modules, pydantic schemas, parsed
    frameworks) leaves the collector's reach (gc.freeze, after a collection so no garbage is kept), so a full
    collection no longer walks it again, and young collections run less often (YOUNG_COLLECTION_THRESHOLD).
    Measured in the province-year preset: collections took 10-19 % of evaluation's CPU-s, then 7 % (docs)."""
    global _frozen
    if _frozen:  # a test process starting many services in turn collects once, not at every start
        return
    _frozen = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
