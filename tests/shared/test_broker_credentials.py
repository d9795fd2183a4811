"""The command lines that ask a service as the gateway does (`services.gateway issue-token` and `web-account`, and
`shared.ops` held retry|drop, rejections replay|dismiss, alert-rules) act as the gateway's broker user by themselves
when this checkout's `make up` made one: two new users' trials found the README's `web-account` and `issue-token`
refused (exit 2, "broker user 'guest' not in CHIBO_RPC_CALLERS") until they sourced var/broker-credentials.env by
hand. shared.config reads CHIBO_AMQP_URL_GATEWAY (exported, else the file, sourced as deploy/process_env.sh sources
it) and uses it only on the broker host, port and vhost of the CHIBO_AMQP_URL in effect."""

import argparse
import os
from pathlib import Path

import pytest

from services.gateway import main as gateway_main
from shared.config import (
    BrokerCredentialsError,
    RpcCaller,
    SavedSettingsError,
    ServiceSettings,
    broker_credentials,
    checkout_system,
    gateway_caller,
)
from shared.ops.__main__ import asks_as_gateway, parser

ADMIN = "amqp://guest:guest@127.0.0.1:5672/chibo-own"
GATEWAY = "amqp://own-gateway:g-Secret_1@127.0.0.1:5672/chibo-own"
WRITTEN = (
    # as deploy/broker_users.sh writes it: CHIBO_AMQP_URL_<NAME>=amqp://user:password@host:port/vhost, one a line
    "CHIBO_AMQP_URL_MEETINGS=amqp://own-meetings:m@127.0.0.1:5672/chibo-own\n"
    f"CHIBO_AMQP_URL_GATEWAY={GATEWAY}\n"
    "CHIBO_AMQP_URL_FEED=amqp://own-feed:f@127.0.0.1:5672/chibo-own\n"
)


@pytest.fixture(autouse=True)
def no_chibo_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new shell: no CHIBO_ variable but those a test sets."""
    for name in [name for name in os.environ if name.startswith("CHIBO_")]:
        monkeypatch.delenv(name)


def checkout(tmp_path: Path, credentials: str | None = WRITTEN, up: str | None = None) -> Path:
    """A checkout-like directory whose var/ holds broker-credentials.env (`credentials`) and up.env (`up`), each
    only when given."""
    (tmp_path / "var").mkdir(parents=True)
    if credentials is not None:
        (tmp_path / "var" / "broker-credentials.env").write_text(credentials)
        (tmp_path / "var" / "broker-credentials.env").chmod(0o600)
    if up is not None:
        (tmp_path / "deploy").mkdir()
        (tmp_path / "deploy" / "settings.sh").write_text((Path(__file__).parents[2] / "deploy/settings.sh").read_text())
        (tmp_path / "var" / "up.env").write_text(up)
    return tmp_path


def test_the_file_is_read_as_broker_users_sh_writes_it_and_as_the_shell_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", "amqp://exported:e@elsewhere:5672/x")  # not the file's
    read = broker_credentials(checkout(tmp_path))
    assert read == {
        "CHIBO_AMQP_URL_MEETINGS": "amqp://own-meetings:m@127.0.0.1:5672/chibo-own",
        "CHIBO_AMQP_URL_GATEWAY": GATEWAY,
        "CHIBO_AMQP_URL_FEED": "amqp://own-feed:f@127.0.0.1:5672/chibo-own",
    }
    # shell quoting and `export` lines read as `source` reads them
    quoted = tmp_path / "quoted"
    quoted.mkdir()
    written = f"export CHIBO_AMQP_URL_GATEWAY='{GATEWAY}'\nCHIBO_AMQP_URL_FEED=\"amqp://f:x@h:1/%2F\"\n"
    assert broker_credentials(checkout(quoted, written)) == {
        "CHIBO_AMQP_URL_GATEWAY": GATEWAY,
        "CHIBO_AMQP_URL_FEED": "amqp://f:x@h:1/%2F",
    }


def test_no_file_is_nothing_and_one_the_shell_cannot_read_is_said(tmp_path: Path) -> None:
    assert broker_credentials(checkout(tmp_path, None)) == {}
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(BrokerCredentialsError, match="broker-credentials.env could not be read") as refused:
        broker_credentials(checkout(broken, "CHIBO_AMQP_URL_GATEWAY='amqp://unterminated\n"))
    assert isinstance(refused.value, SavedSettingsError)  # the command lines' handlers say it (exit 2)


def test_the_gateway_user_is_taken_only_on_the_same_broker_and_vhost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = checkout(tmp_path)
    origin = "CHIBO_AMQP_URL_GATEWAY from var/broker-credentials.env"
    assert gateway_caller(ADMIN, [], checkout=root) == RpcCaller(GATEWAY, origin)
    # the default port is 5672: the same broker
    assert gateway_caller("amqp://guest:guest@127.0.0.1/chibo-own", [], checkout=root) == RpcCaller(GATEWAY, origin)
    for elsewhere in (
        "amqp://guest:guest@127.0.0.1:5672/",  # another vhost
        "amqp://guest:guest@127.0.0.1:5673/chibo-own",  # another port
        "amqp://guest:guest@broker.example:5672/chibo-own",  # another host
    ):
        assert gateway_caller(elsewhere, [], checkout=root) is None, elsewhere
    # a CHIBO_AMQP_URL whose user is the gateway's or an allowed caller (CHIBO_RPC_CALLERS) is kept
    assert gateway_caller("amqp://own-gateway:g-Secret_1@127.0.0.1:5672/chibo-own", [], checkout=root) is None
    assert gateway_caller("amqp://ops:o@127.0.0.1:5672/chibo-own", ["ops"], checkout=root) is None
    # exported wins over the file
    exported = "amqp://other-gateway:x@127.0.0.1:5672/chibo-own"
    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", exported)
    assert gateway_caller(ADMIN, [], checkout=root) == RpcCaller(exported, "CHIBO_AMQP_URL_GATEWAY exported")
    # without either, nothing
    monkeypatch.delenv("CHIBO_AMQP_URL_GATEWAY")
    assert gateway_caller(ADMIN, [], checkout=checkout(tmp_path / "bare", None)) is None


def test_a_command_that_asks_as_the_gateway_runs_as_its_user_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # CHIBO_AMQP_URL as `make up` saved it in var/up.env, the gateway's user in var/broker-credentials.env
    root = checkout(tmp_path, up=f"export CHIBO_AMQP_URL={ADMIN}\n")
    with checkout_system("ops", ServiceSettings, checkout=root, as_gateway=True) as settings:
        assert settings.amqp_url == GATEWAY
        assert ServiceSettings().amqp_url == GATEWAY  # every settings object the command builds in the block
    assert "CHIBO_AMQP_URL" not in os.environ  # the environment as it was
    said = capsys.readouterr().err
    assert said.startswith("ops: acting on broker vhost 'chibo-own' as user 'own-gateway' at"), said
    assert (
        "amqp://own-gateway:***@127.0.0.1:5672/chibo-own (CHIBO_AMQP_URL_GATEWAY from var/broker-credentials.env"
        in said
    )
    assert "g-Secret_1" not in said
    # any other command keeps CHIBO_AMQP_URL, and says its user and where it came from
    with checkout_system("ops", ServiceSettings, checkout=root) as settings:
        assert settings.amqp_url == ADMIN
    said = capsys.readouterr().err
    assert "as user 'guest' at amqp://guest:***@127.0.0.1:5672/chibo-own (CHIBO_AMQP_URL from var/up.env)" in said


def test_an_exported_url_of_another_vhost_keeps_its_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = checkout(tmp_path, up=f"export CHIBO_AMQP_URL={ADMIN}\n")
    monkeypatch.setenv("CHIBO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/trial")
    with checkout_system("ops", ServiceSettings, checkout=root, as_gateway=True) as settings:
        assert settings.amqp_url == "amqp://guest:guest@127.0.0.1:5672/trial"
    assert os.environ["CHIBO_AMQP_URL"] == "amqp://guest:guest@127.0.0.1:5672/trial"
    assert (
        "as user 'guest' at amqp://guest:***@127.0.0.1:5672/trial (CHIBO_AMQP_URL exported)" in capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("argv", "as_gateway"),
    [
        (["held", "retry", "--source", "s", "--event-id", "e"], True),
        (["held", "drop", "--source", "s", "--event-id", "e", "--reason", "Nguồn đã hủy"], True),
        (["rejections", "replay", "--id", "r-1"], True),
        (["rejections", "dismiss", "--id", "r-1", "--reason", "Dữ liệu rác"], True),
        (["alert-rules", "list", "--committee", "c-1"], True),
        (["held", "list"], False),
        (["rejections", "list"], False),
        (["dead-letters", "list"], False),
    ],
)
def test_the_ops_commands_that_call_a_service_are_the_ones_that_act_as_the_gateway(
    argv: list[str], as_gateway: bool
) -> None:
    assert asks_as_gateway(parser().parse_args(argv)) is as_gateway


@pytest.mark.parametrize("command", ["issue-token", "web-account"])
def test_the_gateway_account_commands_ask_meetings_as_the_gateway_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    seen: list[str] = []

    async def record(settings: gateway_main.GatewaySettings, args: argparse.Namespace) -> dict[str, str | None]:
        seen.append(settings.amqp_url)
        return {"sub": "s", "role": "secretary", "unit_id": "u", "sources": [], "token": "a.b.c"}  # type: ignore[dict-item]

    runs = "issue_local_token" if command == "issue-token" else "create_checked_web_account"
    monkeypatch.setattr(gateway_main, runs, record)
    monkeypatch.setenv("CHIBO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", "amqp://chibo-gateway:pw@127.0.0.1:5672/%2F")
    code = gateway_main.cli([command, "--sub", "s", "--role", "secretary", "--unit", "u"])
    said = capsys.readouterr().err
    assert code == 0, said
    assert seen == ["amqp://chibo-gateway:pw@127.0.0.1:5672/%2F"]
    assert "as user 'chibo-gateway'" in said and "(CHIBO_AMQP_URL_GATEWAY exported, the gateway's user" in said
