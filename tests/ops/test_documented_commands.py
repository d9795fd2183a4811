"""Every `uv run python -m shared.ops …` command docs/operations.md spells out runs as written (trial: `python -m
shared.ops outbox replay` was refused for its missing `--service`, and the DLQ shovel lacked its `-p <vhost>` and the
plugin it needs). Each documented command, its placeholders filled and each `a|b` alternative taken, is read by the
command line's own parser; a refusal (argparse exits 2) names the command as the docs wrote it."""

import contextlib
import io
import itertools
import re

import pytest

from shared.ops.__main__ import parser
from tests.ops.test_up_settings import ROOT

OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
PLACEHOLDERS = {
    "<service>": "meetings",
    "...": "meetings.ingest.dlq",
    "<queue>": "meetings.ingest.dlq",
    "n": "1",
    "N": "1",
}


def documented() -> list[str]:
    """The backticked spans of operations.md that are whole commands: the module, an area and an action."""
    spans = re.findall(r"`(uv run python -m shared\.ops [^`]+)`", OPERATIONS.replace("\n", " "))
    return [span for span in spans if len(span.split()) >= 7]


def variants(command: str) -> list[list[str]]:
    """The command's arguments with its placeholders filled, once per choice of its `a|b` alternatives."""
    words = [PLACEHOLDERS.get(word, word) for word in command.replace("[", "").replace("]", "").split()[5:]]
    return [list(choice) for choice in itertools.product(*(word.split("|") for word in words))]


def test_the_documents_name_commands() -> None:
    assert len(documented()) >= 5, documented()


@pytest.mark.parametrize("command", documented())
def test_a_documented_command_is_one_the_command_line_takes(command: str) -> None:
    for arguments in variants(command):
        refused = io.StringIO()
        with contextlib.redirect_stderr(refused):
            try:
                parser().parse_args(arguments)
            except SystemExit as exc:
                pytest.fail(f"{command!r} as {arguments}: exit {exc.code}: {refused.getvalue()}")


def test_the_dead_letter_shovel_names_its_vhost_and_plugin() -> None:
    shovels = re.findall(r"`(rabbitmqctl set_parameter [^`]+)`", OPERATIONS.replace("\n", " "))
    assert shovels
    assert all(" -p " in shovel for shovel in shovels), shovels
    assert "rabbitmq-plugins enable rabbitmq_shovel" in OPERATIONS
