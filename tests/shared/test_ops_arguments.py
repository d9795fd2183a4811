"""Every number and id `python -m shared.ops` takes is bounded by its argparse type (shared/ops/__main__.py BOUNDS):
out of bounds is exit 2 naming the argument and its bounds. `outbox replay --id 99999999999999999999`,
`outbox list --limit` and `held list --offset` of that size reached PostgreSQL and ended in a DataError traceback
and exit 1 ("not found"); `held drop --event-id` of 5000 characters in a pydantic traceback."""

import argparse
from collections.abc import Iterator

import pytest

from shared.ops.__main__ import BOUNDS, Name, Whole, listing_key, main, moment, param_setting, parser, reason

FREE_TYPES = (reason, param_setting, moment, listing_key)
"""Argument types that bound what they take themselves (a reason's 1-500 characters, a parameter's NAME=VALUE, an
RFC 3339 time with its offset, a listing's 32 hex digits)."""


def choices(command: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of a parser, by name."""
    return {
        name: sub
        for action in command._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


def subcommands() -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    """(words, parser) of every subcommand (`outbox replay`, ...)."""
    for area, area_parser in choices(parser()).items():
        for name, command in choices(area_parser).items():
            yield [area, name], command


def valid(action: argparse.Action) -> list[str]:
    """The words giving `action` a value it takes."""
    if action.nargs == 0:
        return [action.option_strings[0]]
    if action.choices is not None:
        value = next(iter(action.choices))
    elif isinstance(action.type, Whole):
        value = str(action.type.low)
    elif isinstance(action.type, Name):
        value = "a" * action.type.low
    else:
        value = "Lý do"
    return [action.option_strings[0], value]


def command_line(words: list[str], command: argparse.ArgumentParser, tested: argparse.Action, value: str) -> list[str]:
    """A command line giving every required argument a valid value and `tested` the value."""
    given = [*words, tested.option_strings[0], value]
    grouped = {action for group in command._mutually_exclusive_groups for action in group._group_actions}
    for action in command._actions:
        if action is not tested and action.required and action not in grouped:
            given += valid(action)
    for group in command._mutually_exclusive_groups:
        if group.required and tested not in group._group_actions:
            given += valid(group._group_actions[0])
    return given


def bounded_arguments() -> Iterator[tuple[list[str], argparse.ArgumentParser, argparse.Action]]:
    for words, command in subcommands():
        for action in command._actions:
            if isinstance(action.type, Whole | Name):
                yield words, command, action


def test_every_argument_taking_a_value_is_bounded_or_chosen() -> None:
    """No argument of any subcommand takes a number or an id its type does not bound (a new one must be added to
    BOUNDS): each value-taking argument has choices, a bounded type or one of the FREE_TYPES."""
    unbounded = [
        (" ".join(words), action.option_strings[0])
        for words, command in subcommands()
        for action in command._actions
        if action.option_strings
        and action.nargs != 0
        and action.choices is None
        and not isinstance(action.type, Whole | Name)
        and action.type not in FREE_TYPES
    ]
    assert unbounded == []
    assert len(list(bounded_arguments())) >= 15


def out_of_bounds(action: argparse.Action) -> list[tuple[str, str]]:
    """(value, what stderr says of it) for values the argument refuses."""
    bound = action.type
    if isinstance(bound, Whole):
        return [
            (str(bound.high + 1), f"from {bound.low} to {bound.high}"),
            (str(bound.low - 1), f"from {bound.low} to {bound.high}"),
            ("99999999999999999999", f"from {bound.low} to {bound.high}"),
            ("1e3", f"from {bound.low} to {bound.high}"),
            ("٣", f"from {bound.low} to {bound.high}"),  # an Arabic-Indic three is no number here
        ]
    assert isinstance(bound, Name)
    refused = [("x" * (bound.high + 1), f"{bound.low} to {bound.high} characters")]
    if bound.allowed is not None:
        refused.append(("a b", "characters other than"))
    return refused


@pytest.mark.parametrize(
    ("words", "command", "action"),
    list(bounded_arguments()),
    ids=[f"{' '.join(w)} {a.option_strings[0]}" for w, _, a in bounded_arguments()],
)
def test_an_argument_out_of_its_bounds_is_exit_2_naming_it_and_its_bounds(
    words: list[str], command: argparse.ArgumentParser, action: argparse.Action, capsys: pytest.CaptureFixture[str]
) -> None:
    for value, said in out_of_bounds(action):
        with pytest.raises(SystemExit) as exited:
            parser().parse_args(command_line(words, command, action, value))
        err = capsys.readouterr().err
        assert exited.value.code == 2, err
        assert f"argument {action.option_strings[0]}: " in err and said in err, err
        assert "Traceback" not in err
    args = parser().parse_args(command_line(words, command, action, valid(action)[1]))
    assert args.area == words[0]


def test_the_trial_s_inputs_are_refused_naming_the_argument(capsys: pytest.CaptureFixture[str]) -> None:
    for line, name in (
        (["outbox", "replay", "--service", "meetings", "--id", "99999999999999999999"], "--id"),
        (["outbox", "list", "--service", "meetings", "--limit", "99999999999999999999"], "--limit"),
        (["held", "list", "--offset", "99999999999999999999"], "--offset"),
        (["held", "drop", "--source", "s", "--event-id", "e" * 5000, "--reason", "r"], "--event-id"),
    ):
        with pytest.raises(SystemExit) as exited:
            parser().parse_args(line)
        assert exited.value.code == 2 and f"argument {name}: " in capsys.readouterr().err
    assert isinstance(BOUNDS["row_id"], Whole) and BOUNDS["row_id"].high == 2**63 - 1


@pytest.mark.parametrize("name", ["--through", "--newest"])
def test_a_purge_listings_value_of_5000_characters_is_refused_without_echoing_it_whole(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = ["dead-letters", "purge", "--queue", "evaluation.facts.dlq", "--yes", name, "9" * 5000]
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(line)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and f"argument {name}: " in err and len(err) < 1000, err[:300]


def refused_usage(line: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The error `line` is refused with before anything runs (exit 2): its stderr."""
    with pytest.raises(SystemExit) as exited:
        main(line)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    return err


@pytest.mark.parametrize("words", [w for w, _ in subcommands()], ids=[" ".join(w) for w, _ in subcommands()])
def test_every_command_s_own_error_shows_its_own_usage(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # a trial's `rejections dismiss --reason ...` with no criterion printed the top-level usage: the operator read
    # `python -m shared.ops [-h] {dead-letters,...}` for a mistake in one command's options
    prog = f"python -m shared.ops {' '.join(words)}"
    err = refused_usage([*words, "--no-such-option-h554"], capsys)
    assert err.startswith(f"usage: {prog} ") and f"\n{prog}: error: " in err, err


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (["rejections", "dismiss", "--reason", "Rác"], "--all to dismiss every open rejection"),
        (["rejections", "dismiss", "--reason", "Rác", "--id", "r1", "--code", "x"], "--id names one rejection"),
        (["rejections", "dismiss", "--reason", "Rác", "--code", "no_such_code"], "--code"),
        (
            [
                "rejections",
                "dismiss",
                "--reason",
                "Rác",
                "--after",
                "2026-11-03T00:00:00+00:00",
                "--before",
                "2026-11-02T00:00:00+00:00",
            ],
            "--after: must be before --before",
        ),
    ],
)
def test_a_dismissal_s_criteria_refused_after_parsing_show_the_dismiss_usage(
    line: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = refused_usage(line, capsys)
    prog = "python -m shared.ops rejections dismiss"
    assert err.startswith(f"usage: {prog} ") and f"\n{prog}: error: " in err and said in err, err
