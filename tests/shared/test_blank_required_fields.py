"""A required text field of only spaces or characters that show nothing (Unicode Default_Ignorable_Code_Point:
U+200B, U+2060, the soft hyphen, Hangul fillers...) is blank wherever it is checked (shared.text.has_text), and the
refusal names the field: the operators' contract requests, evaluation's framework documents, the gateway's
`issue-token` and `web-account`, `shared.ops`' reasons and the bulk load's CSV cells. Each took such a value as said."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.evaluation.domain.framework import FrameworkError, parse_framework
from services.gateway import main as gateway_main
from services.meetings.bulk.csv_input import csv_events
from shared.contracts import meetings_rpc, notifications_rpc
from shared.ops.__main__ import parser

INVISIBLE_ONLY = ["\u200b", " \u2060\u00ad ", "\u3164\ufeff", "\u2062\u00a0\u180e"]
"""Values that show nothing: zero width space; spaces, word joiner and soft hyphen; Hangul filler and byte order
mark; invisible times, no-break space and Mongolian vowel separator."""

ROOT = Path(__file__).resolve().parents[2]


def refused_field(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """The fields a contract request refuses `data` for, dotted."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]


@pytest.mark.parametrize("blank", INVISIBLE_ONLY)
def test_operator_requests_refuse_a_blank_reason_or_actor_naming_it(blank: str) -> None:
    assert refused_field(notifications_rpc.OPS.drop_parked_row, {"id": 1, "reason": blank}) == ["reason"]
    assert refused_field(meetings_rpc.OPS.drop_parked_row, {"id": 1, "reason": blank}) == ["reason"]
    held = {"source": "urn:x", "event_id": "e-1", "reason": blank}
    assert refused_field(meetings_rpc.DropHeldEvent, held) == ["reason"]
    dismissal = {"rejection_id": "r-1", "reason": "rác", "dismissed_by": blank}
    assert refused_field(meetings_rpc.DismissRejection, dismissal) == ["dismissed_by"]
    assert refused_field(meetings_rpc.DismissRejection, {**dismissal, "reason": blank, "dismissed_by": "op"}) == [
        "reason"
    ]
    said = meetings_rpc.DismissRejection.model_validate({**dismissal, "dismissed_by": "op-1"})
    assert (said.reason, said.dismissed_by) == ("rác", "op-1")


FRAMEWORK = json.loads((ROOT / "shared/contracts/framework_data/hd42-2025.v1.json").read_text("utf-8"))


@pytest.mark.parametrize("blank", INVISIBLE_ONLY)
@pytest.mark.parametrize("where", [(), ("groups", 0), ("groups", 1, "items", 0)])
def test_a_framework_with_a_blank_name_is_refused_naming_it(blank: str, where: tuple[str | int, ...]) -> None:
    document = copy.deepcopy(FRAMEWORK)
    part: Any = document
    for step in where:
        part = part[step]
    part["name"] = blank
    with pytest.raises(FrameworkError) as caught:
        parse_framework(document)
    assert caught.value.field == ".".join(str(step) for step in (*where, "name"))
    assert "visible text" in str(caught.value)
    assert parse_framework(FRAMEWORK).name == FRAMEWORK["name"]


@pytest.mark.parametrize("blank", INVISIBLE_ONLY)
@pytest.mark.parametrize(
    ("command", "args", "option"),
    [
        ("issue-token", ["--role", "operator", "--sub", "{}"], "--sub"),
        ("issue-token", ["--role", "member", "--sub", "mem-1", "--unit", "{}"], "--unit"),
        ("issue-token", ["--role", "operator", "--sub", "op-1", "--person", "{}"], "--person"),
        ("web-account", ["--role", "operator", "--sub", "{}", "--password", "mật-khẩu-dài-đủ"], "--sub"),
    ],
)
def test_account_commands_refuse_a_blank_name_naming_the_option(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    blank: str,
    command: str,
    args: list[str],
    option: str,
) -> None:
    """Refused before meetings is asked or anything recorded (an unreachable broker and database would say so)."""
    monkeypatch.setenv("CHIBO_AMQP_URL", "amqp://guest:guest@127.0.0.1:1/")
    monkeypatch.setenv("CHIBO_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    code = gateway_main.cli([command, *(blank if arg == "{}" else arg for arg in args)])
    said = capsys.readouterr().err
    assert code == 2, said
    assert f"{command}: {option}: must hold visible text, not only spaces or invisible characters" in said, said


@pytest.mark.parametrize("blank", INVISIBLE_ONLY)
@pytest.mark.parametrize(
    "words",
    [
        ["held", "drop", "--source", "urn:x", "--event-id", "e-1", "--reason"],
        ["rejections", "dismiss", "--id", "r-1", "--reason"],
    ],
)
def test_ops_commands_refuse_a_blank_reason_naming_it(
    capsys: pytest.CaptureFixture[str], blank: str, words: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args([*words, blank])
    assert exited.value.code == 2
    said = capsys.readouterr().err
    assert "argument --reason: a reason must hold visible text, not only spaces or invisible characters" in said
    assert parser().parse_args([*words, f"{blank}Rác{blank}"]).reason == "Rác"


@pytest.mark.parametrize("blank", INVISIBLE_ONLY)
def test_a_csv_cell_of_invisible_characters_is_an_empty_cell(tmp_path: Path, blank: str) -> None:
    """Null for a field that may be null, absent (the contract's default, or required and refused) otherwise; a list
    item of them is none."""
    table = tmp_path / "members.csv"
    table.write_text(
        f"id,full_name,cell_id,status,role,email,phone\nm-1,{blank},c-1,official,member,{blank},{blank}\n", "utf-8"
    )
    (line,) = csv_events(table, table="members", source="urn:x", at=datetime(2026, 1, 1, tzinfo=UTC))
    data = json.loads(line)["data"]
    assert "full_name" not in data  # required: refused as missing, naming data.full_name
    assert (data["email"], data["phone"]) == (None, None)
    units = tmp_path / "units.csv"
    units.write_text(f"id,name,kind,parent_id,contact_emails\nu-1,Đảng ủy,committee,{blank},a@x.vn;{blank}\n", "utf-8")
    (line,) = csv_events(units, table="units", source="urn:x", at=datetime(2026, 1, 1, tzinfo=UTC))
    assert json.loads(line)["data"] | {} == {
        "id": "u-1",
        "name": "Đảng ủy",
        "kind": "committee",
        "parent_id": None,
        "contact_emails": ["a@x.vn"],
    }
