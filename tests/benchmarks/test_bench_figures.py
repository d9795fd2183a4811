"""The arithmetic of `make bench`'s figures, without running a preset: the rollup's tree at a scale (trial: --scale
0.005 seeded 350 cells, a whole commune, not 175), and the latency's ratios (trial: the notice's p99 had none)."""

from tests.benchmarks.latency import p99_ratios
from tests.benchmarks.targets import all_met, describe, target
from tests.evaluation.bench_rollup import CELLS_PER_GRASSROOTS, tree_size


def cells(scale: float) -> int:
    communes, grassroots = tree_size(scale)
    return communes * grassroots * CELLS_PER_GRASSROOTS


def test_the_rollup_tree_is_the_scaled_share_of_35000_cells() -> None:
    assert tree_size(1.0) == (100, 10) and cells(1.0) == 35_000
    assert cells(0.005) == 175
    assert cells(0.01) == 350 and cells(0.1) == 3_500
    assert cells(0.0001) == CELLS_PER_GRASSROOTS  # at least one grassroots committee of cells


def test_the_latency_gives_the_notice_p99_over_the_baseline_too() -> None:
    chibo = {"score_latency_ms": {"p99": 900.0}, "notice_latency_ms": {"p99": 1500.0}}
    assert p99_ratios(chibo, {"latency_ms": {"p99": 50.0}}) == {
        "score_p99_over_baseline_p99": 18.0,
        "notice_p99_over_baseline_p99": 30.0,
    }
    assert p99_ratios(chibo, {}) == {"score_p99_over_baseline_p99": None, "notice_p99_over_baseline_p99": None}


def test_a_scale_free_target_is_checked_and_says_so() -> None:
    entry = target(0.75, 1.0, full_size=True, scale=1.0) | {"note": "checked at every scale (a 100-cell province)"}
    assert entry["checked"] is True and entry["met"] is True
    assert describe("bulk", "bulk_over_batch_s", entry) == (
        "bulk: target bulk_over_batch_s 0.75 ≤ 1.0: met (checked at every scale (a 100-cell province))"
    )
    assert all_met({"a": entry, "b": target(30.0, 20.0, full_size=False, scale=0.005)})
    assert not all_met({"a": target(30.0, 20.0, full_size=True, scale=1.0)})
