"""What the README promises an operator about time holds what was measured (a figure a person plans by)."""

import re
from pathlib import Path

from services.gateway.config import GatewaySettings

README = Path(__file__).parents[2] / "README.md"
RESTART_UNDER_LOAD_SECONDS = 106
"""The longest restart by `make up` after a `kill -9` of meetings a fresh-user trial measured under load (42-99 s; a
new integrator's, 106 s)."""
RESTART_SATURATED = "3 min 31 s"
"""The longest restart by `make up` after a `kill -9` a trial measured on a saturated machine (meetings and
notifications killed, two CPU-bound loops, load 27): past the README's bound for a busy one, so it says this too."""
FIRST_UP_UNDER_LOAD = "6 min 11 s"
"""The longest first `make up` a trial measured (a new integrator's, at load about 22): past the 2-4 minutes of the
others, so the README may not promise those "whatever the load"."""


def test_the_readme_states_the_restart_time_measured_under_load() -> None:
    """The trial: the README said a restart after kill -9 takes "about 20 s"; under load it took 42-99 s. The
    README's bound for it covers what was measured on a busy machine, it says the longer time a saturated one took,
    and no "about 20 s" stands alone as the figure."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    paragraph = next(line for line in text.split(". ") if "Count on up to" in line)
    bound = int(re.search(r"Count on up to (\d+) s", paragraph)[1])  # type: ignore[index]
    assert bound >= RESTART_UNDER_LOAD_SECONDS
    assert RESTART_SATURATED in paragraph, paragraph
    assert "quickly (about 20 s" not in text


def test_the_readme_states_the_longest_first_make_up_measured() -> None:
    """The trial: the README said the first `make up` takes 2-4 minutes "whatever the load"; at load about 22 it took
    6 min 11 s. The README says so, and no longer claims a time independent of the load."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    paragraph = next(line for line in text.split(". ") if "The first `make up`" in line)
    assert FIRST_UP_UNDER_LOAD in paragraph
    assert "whatever the load" not in text


def test_the_readme_states_the_wait_for_a_meeting_page_while_meetings_is_known_silent() -> None:
    """The trial: the README said a meeting's page is the "try again" page "at once" once meetings is known silent;
    it took 1 s, the gateway still asking meetings within CHIBO_PERSON_NAME_TIMEOUT (UnitDirectory.read_wait). The
    README says that wait, the setting's default."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = text[text.index("a meeting's page, all meetings', is the \"try again\" page") :].split(". ")[0]
    assert "at once" not in sentence, sentence
    wait = GatewaySettings.model_fields["person_name_timeout"].default
    assert wait == 1.0 and "about a second" in sentence and "`CHIBO_PERSON_NAME_TIMEOUT`, 1 s" in sentence, sentence
