"""Every `python -m` of the project's own modules that README.md and docs/ spell out is written with the project's
environment, `uv run python -m …`, as the README writes its other commands (an operator's trial: `python -m shared.ops
…`, as docs/operations.md wrote it about 13 times, failed from a clean clone with `ModuleNotFoundError: No module
named 'aio_pika'` under the system python; `uv run python -m shared.ops` works), and one such command runs from the
checkout as written."""

import re
import shlex
import subprocess

import pytest

from tests.ops.test_up_settings import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PROJECT = {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()}
"""The project's top-level packages (services, shared, deploy, tests): what only its environment can import."""


def documented() -> list[tuple[str, str, str]]:
    """(document name, module, the words before `python`) for each `python -m <project module>` of the documents,
    their line breaks joined."""
    found = []
    for path in DOCUMENTS:
        text = re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8"))
        for match in re.finditer(r"((?:\S+ ){0,2})python3? -m ([A-Za-z_][\w.]*)", text):
            if match.group(2).split(".")[0] in PROJECT:
                found.append((path.name, match.group(2), match.group(1)))
    return found


def test_the_project_has_packages_and_the_documents_name_its_modules() -> None:
    assert {"services", "shared"} <= PROJECT, PROJECT
    assert {module for _, module, _ in documented()} >= {"shared.ops", "services.gateway"}, documented()


@pytest.mark.parametrize(("document", "module", "before"), documented())
def test_a_documented_project_module_runs_in_the_project_environment(document: str, module: str, before: str) -> None:
    assert before.lstrip("`").endswith("uv run "), (
        f"{document}: `{before.strip()} python -m {module}` runs under whatever python is first on PATH, which lacks "
        f"the project's packages; write `uv run python -m {module}`"
    )


def test_the_documented_operators_command_runs_from_the_checkout() -> None:
    command = "uv run python -m shared.ops --help"
    assert any(command in re.sub(r"\s*\n\s*", " ", path.read_text(encoding="utf-8")) for path in DOCUMENTS)
    ran = subprocess.run(shlex.split(command), cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "rejections" in ran.stdout, ran.stdout
