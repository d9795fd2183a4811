"""Every `make …` command README.md and docs/ spell out is one make takes, and each `make bench BENCH_ARGS="…"` is
one the bench's command line takes (trial: docs/architecture.md gave `make bench province-year --scale 0.005`, which
make refuses: "No rule to make target 'province-year'"). Read by the Makefile's targets and the bench's own parser;
nothing runs."""

import contextlib
import io
import re
import shlex

import pytest

from tests.benchmarks.__main__ import parse
from tests.ops.test_up_settings import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAKE_TARGETS = set(re.findall(r"^([A-Za-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.MULTILINE))


def documented() -> list[tuple[str, str]]:
    """(document name, command) for each backticked `make …` span of the documents, line breaks joined."""
    found = []
    for path in DOCUMENTS:
        text = re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8"))
        found += [(path.name, span) for span in re.findall(r"`(make [^`]+)`", text)]
    return found


def make_words(command: str) -> tuple[list[str], dict[str, str]]:
    """The make targets and the VAR=value assignments of a `make …` command, as a shell would pass them."""
    targets, variables = [], {}
    for word in shlex.split(command)[1:]:
        name, equals, value = word.partition("=")
        if equals and re.fullmatch(r"[A-Z_]+", name):
            variables[name] = value
        else:
            targets.append(word)
    return targets, variables


def test_the_documents_name_bench_commands_with_arguments() -> None:
    assert any("BENCH_ARGS" in command for _, command in documented()), documented()


def test_a_misplaced_preset_is_seen_as_a_make_target() -> None:
    assert make_words("make bench province-year --scale 0.005") == (["bench", "province-year", "--scale", "0.005"], {})
    assert make_words('make bench BENCH_ARGS="province-year --scale 0.005"') == (
        ["bench"],
        {"BENCH_ARGS": "province-year --scale 0.005"},
    )


@pytest.mark.parametrize(("document", "command"), documented())
def test_a_documented_make_command_is_one_make_and_the_bench_take(document: str, command: str) -> None:
    targets, variables = make_words(command)
    unknown = [word for word in targets if word not in MAKE_TARGETS]
    assert not unknown, f'{document}: {command!r}: make has no target {unknown} (options go in BENCH_ARGS="…")'
    if "bench" in targets:
        refused = io.StringIO()
        with contextlib.redirect_stderr(refused):
            try:
                parse(shlex.split(variables.get("BENCH_ARGS", "")))
            except SystemExit as exc:
                pytest.fail(f"{document}: {command!r}: the bench refuses it: exit {exc.code}: {refused.getvalue()}")
