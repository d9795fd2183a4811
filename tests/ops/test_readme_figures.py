"""What the README promises an operator about time holds what was measured (a figure a person plans by)."""

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"
RESTART_UNDER_LOAD_SECONDS = 99
"""The longest restart by `make up` after a `kill -9` a fresh-user trial measured under load (42-99 s)."""


def test_the_readme_states_the_restart_time_measured_under_load() -> None:
    """The trial: the README said a restart after kill -9 takes "about 20 s"; under load it took 42-99 s. The
    README's bound for it covers what was measured, and no "about 20 s" stands alone as the figure."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    paragraph = next(line for line in text.split(". ") if "Count on up to" in line)
    bound = int(re.search(r"Count on up to (\d+) s", paragraph)[1])  # type: ignore[index]
    assert bound >= RESTART_UNDER_LOAD_SECONDS
    assert "quickly (about 20 s" not in text
