"""The rescore command refuses months outside history before touching anything, naming its option (trial 21's
`9999-12` made the job fail with "year 10000 is out of range")."""

import pytest

from services.evaluation.main import bootstrap_cli, span_refusal


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--to", "9999-12"], "rescore: --to: 9999-12 begins more than 2 years ahead"),
        (["--from", "0001-01", "--to", "9999-12"], "rescore: --from: 0001-01 begins before 2000-01"),
        (
            ["--from", "2026-13"],
            "rescore: --from: expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026), "
            "not '2026-13'",
        ),
        (["--to", "2026-H3"], "rescore: --to: expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2)"),
    ],
)
def test_months_outside_history_are_refused_naming_the_option(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bootstrap_cli(["rescore", *argv]) == 2
    assert said in capsys.readouterr().err


def test_months_of_history_pass() -> None:
    assert span_refusal("2025-01", "2025-12") is None
    assert span_refusal(None, None) is None
    # a half-year means its months, as a quarter does (a trial's `2026-H2` was refused)
    assert span_refusal("2025-H1", "2025-H2") is None
    assert span_refusal("2025-H2", None) is None
