"""The benchmark's smoke test: `province-year` at three cells prints its figures and every meeting is scored.

Not a measurement: it proves the harness works end to end (generator, batch route, the running services,
the results watched on chibo.events, the raw baseline, the ratios) in a couple of minutes.
"""

import json
from pathlib import Path

import pytest

from tests.benchmarks.runs import run_module

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_province_year_at_three_cells_prints_every_figure_with_its_baseline(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    completed = run_module(
        ["tests.benchmarks", "province-year", "--scale", "0.0003", "--quiet", "3", "--json", str(out)],
        timeout=540,
    )
    assert "province-year: chibo/baseline events_per_s_end_to_end =" in completed.stdout
    [result] = json.loads(out.read_text(encoding="utf-8"))
    chibo, baseline = result["chibo"], result["baseline"]
    assert result["cells"] == 3 and chibo["meetings"] > 0 and chibo["closed_periods"] > 0
    assert chibo["missing_final_scores"] == 0, chibo
    assert chibo["missing_periods"] == 0, chibo
    assert chibo["rejected"] == 0, chibo["first_rejections"]
    assert chibo["events_per_s_in"] > 0 and chibo["events_per_s_end_to_end"] > 0
    assert set(chibo["rss_peak_mb"]) == {"meetings", "evaluation", "notifications", "gateway"}
    assert all(value > 0 for value in chibo["rss_peak_mb"].values())
    assert chibo["events_per_busy_core_s"] > 0
    assert baseline["events_per_s_end_to_end"] > 0
    assert result["ratio"]["events_per_s_end_to_end"] > 0


def test_rollup_at_a_tiny_scale_prints_the_report_downloads_beside_their_baseline(tmp_path: Path) -> None:
    """The rollup preset also times an officer's report.csv and report.pdf of the province root and of a commune,
    through the running services, with the bare CSV baseline and the ratio; and the province's quarter and half-year
    roll-ups, rankings and reports, as queries, and the roll-ups through the gateway's /v1."""
    out = tmp_path / "bench.json"
    completed = run_module(
        ["tests.benchmarks", "rollup", "--scale", "0.0006", "--json", str(out)],
        timeout=540,
    )
    assert "committee_rollup(province, month)" in completed.stdout  # the queries' figures, as before
    assert "rollup: chibo/baseline province_report_csv_s =" in completed.stdout
    assert "rollup: chibo/baseline commune_report_csv_s =" in completed.stdout
    [result] = json.loads(out.read_text(encoding="utf-8"))
    chibo, baseline = result["chibo"], result["baseline"]
    assert result["preset"] == "rollup" and result["cells"] >= 20 and result["commune_cells"] > 0
    for figure in ("province_csv_s", "province_pdf_s", "commune_csv_s", "commune_pdf_s"):
        assert chibo[figure] > 0, figure
    for download in ("province_csv", "province_pdf", "commune_csv", "commune_pdf"):
        assert chibo[download]["bytes"] > 0
        assert set(chibo[download]["rss_peak_mb"]) == {"gateway", "evaluation"}
    assert baseline["province_csv_s"] > 0 and result["ratio"]["province_report_csv_s"] > 0
    # the in-process queries' ratio is in the JSON too (trial: printed only), and they log nothing at info (trial:
    # migration lines among the figures)
    queries = result["queries"]
    assert queries["cells"] == 35 and queries["province_month_p95_ms"] > 0 and queries["baseline_p95_ms"] > 0
    assert result["ratio"]["province_month_p95"] == queries["province_month_p95_ratio"] > 0
    assert "migration_applied" not in completed.stdout + completed.stderr
    # a half-year report beside its quarter (issue 12): the queries' figures, and the /v1 roll-up through the gateway
    assert "committee_rollup(province, quarter)" in completed.stdout
    assert "committee_rollup(province, half-year)" in completed.stdout
    # and the half-year's ranking and report pages beside the quarter's, for the province and a commune
    for unit in ("province", "commune"):
        for kind in ("quarter", "half-year"):
            assert f"committee_ranking({unit}, {kind})" in completed.stdout
            assert f"committee_report({unit}, {kind}, page 1)" in completed.stdout
            assert f"whole report({unit}, {kind})" in completed.stdout
    assert "cell_half_year(a cell)" in completed.stdout
    for period in ("month", "quarter", "half_year"):
        assert chibo["api_rollup"][f"{period}_s"] > 0, period
        assert set(chibo["api_rollup"][f"{period}_statuses"]) == {200}, period
