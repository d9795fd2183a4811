"""The typed RPC: requests checked against their model, bugs answered as `internal` with a logged traceback."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import pytest
import structlog
from faststream.rabbit import RabbitBroker
from pydantic import BaseModel, Field, ValidationError

from shared.config import broker_user_of
from shared.contracts import notifications_rpc
from shared.contracts.evaluation_rpc import GetMeetingScore, MeetingScoreReply
from shared.logs import get_logger, request_correlation_id
from shared.periods import VIETNAM_TZ
from shared.refusals import Refusal, RefusalCode
from shared.rpc import Reply, Request, RpcClient, RpcError, RpcMethods, RpcRequest, answer, caller_hint, read_reply
from shared.topology import RpcQueue
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.rpc import rpc_client


class CountReply(Reply):
    """How many members a cell has."""

    cell_id: str
    members: int


class CountMembers(Request[CountReply]):
    """A probe method: count a cell's members."""

    service = "rpcprobe"
    method = "count_members"
    cell_id: Annotated[str, Field(min_length=1)]
    limit: Annotated[int, Field(ge=1, le=10)] = 5


CELLS = {"c1": ["m1", "m2"]}


REPLAYED_AT = datetime(2026, 12, 4, 19, 30, tzinfo=VIETNAM_TZ)


async def count_members(request: CountMembers) -> CountReply:
    """Answers from CELLS; an unknown cell is a KeyError: a bug, not a bad request; cell `replayed` is a conflict
    carrying a refusal (its code and its moment)."""
    if request.cell_id == "replayed":
        refusal = Refusal(code=RefusalCode.ALREADY_REPLAYED, accepted_at=REPLAYED_AT)
        raise RpcError("conflict", "worded any way at all", field="cell_id", refusal=refusal)
    return CountReply(cell_id=request.cell_id, members=len(CELLS[request.cell_id]))


def probe_methods() -> RpcMethods:
    """The probe service's catalog."""
    methods = RpcMethods("rpcprobe")
    methods.add(CountMembers, count_members)
    return methods


async def test_a_request_names_its_service_method_and_reply_model() -> None:
    assert (GetMeetingScore.service, GetMeetingScore.method) == ("evaluation", "meeting_score")
    assert GetMeetingScore.reply_model() is MeetingScoreReply
    assert CountMembers(cell_id="c1").model_dump() == {"cell_id": "c1", "limit": 5}


async def test_a_request_failing_its_model_is_invalid_naming_the_field() -> None:
    reply = await answer(RpcRequest(method="count_members", params={"cell_id": "c1", "limit": 50}), probe_methods())
    assert reply["ok"] is False
    assert reply["error"]["code"] == "invalid" and reply["error"]["field"] == "limit"
    missing = await answer(RpcRequest(method="count_members", params={}), probe_methods())
    assert (missing["error"]["code"], missing["error"]["field"]) == ("invalid", "cell_id")


async def test_a_nul_character_in_a_request_is_invalid_naming_the_field_not_a_bug() -> None:
    """A NUL in an id (a web path's %00) is the caller's error, answered before the method runs: PostgreSQL's text
    cannot hold it, and meetings answered `internal` after CharacterNotInRepertoireError."""
    reply = await answer(RpcRequest(method="count_members", params={"cell_id": "c\x001"}), probe_methods())
    assert (reply["error"]["code"], reply["error"]["field"]) == ("invalid", "cell_id")
    nested = await answer(
        RpcRequest(method="count_members", params={"cell_id": "c1", "filters": [{"x": "a\x00"}]}), probe_methods()
    )
    assert (nested["error"]["code"], nested["error"]["field"]) == ("invalid", "filters.0.x")


async def test_an_unpaired_surrogate_in_a_request_is_invalid_naming_the_field_by_the_one_storable_text_rule() -> None:
    """JSON may escape a lone surrogate (\\ud800): no UTF-8 holds it, so PostgreSQL could not store or look it up;
    the same rule as events' and the web forms' text (shared.reading.unstorable_character)."""
    reply = await answer(RpcRequest(method="count_members", params={"cell_id": "c\ud8001"}), probe_methods())
    assert (reply["error"]["code"], reply["error"]["field"]) == ("invalid", "cell_id")
    assert reply["error"]["message"] == "cell_id: an unpaired surrogate is not allowed"
    key = await answer(RpcRequest(method="count_members", params={"cell_id": "c1", "\udc00": 1}), probe_methods())
    assert (key["error"]["code"], key["error"]["field"]) == ("invalid", "\udc00")


async def test_an_unknown_method_is_invalid_naming_the_method() -> None:
    reply = await answer(RpcRequest(method="drop_everything"), probe_methods())
    assert (reply["error"]["code"], reply["error"]["field"]) == ("invalid", "method")


async def test_a_bug_inside_a_method_is_internal_and_its_traceback_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    route_logs_to_stdlib(caplog)
    reply = await answer(RpcRequest(method="count_members", params={"cell_id": "c9"}), probe_methods())
    assert reply == {
        "ok": False,
        "result": None,
        "error": {"code": "internal", "message": "internal error", "field": None},
    }
    [failed] = [line for line in structured_logs(caplog) if line["event"] == "rpc_method_failed"]
    assert failed["level"] == "error" and failed["exc_info"] is True
    assert failed["method"] == "count_members" and "KeyError" in failed["error"]


async def test_a_method_answering_out_of_its_reply_model_is_internal() -> None:
    async def wrong(request: CountMembers) -> dict[str, Any]:
        return {"cell_id": request.cell_id}  # no `members`

    methods = RpcMethods("rpcprobe")
    methods.add(CountMembers, wrong)
    reply = await answer(RpcRequest(method="count_members", params={"cell_id": "c1"}), methods)
    assert reply["error"]["code"] == "internal"


@asynccontextmanager
async def serving_probe(amqp_url: str, methods: RpcMethods) -> AsyncIterator[RpcClient]:
    """A probe service answering `methods` on the real broker until the block ends, and a client (10 s a call)."""
    server = RabbitBroker(amqp_url)

    @server.subscriber(RpcQueue("rpcprobe").rabbit_queue())
    async def on_rpc(request: RpcRequest) -> dict[str, Any]:
        return await answer(request, methods)

    await server.start()
    try:
        async with rpc_client(amqp_url, timeout=10) as client:
            yield client
    finally:
        await server.stop()


@pytest.fixture
async def probe(amqp_url: str) -> AsyncIterator[RpcClient]:
    """The probe service answering on the real broker, and a client."""
    async with serving_probe(amqp_url, probe_methods()) as client:
        yield client


async def test_the_typed_client_gets_the_reply_model_over_the_broker(probe: RpcClient) -> None:
    reply = await probe.call(CountMembers(cell_id="c1"))
    assert isinstance(reply, CountReply) and reply.members == 2


async def test_over_the_broker_a_bad_request_and_a_bug_come_back_as_their_codes(probe: RpcClient) -> None:
    with pytest.raises(RpcError) as invalid:
        await probe.call(CountMembers.model_construct(cell_id="c1", limit=0))  # unvalidated: the service judges it
    assert (invalid.value.code, invalid.value.field) == ("invalid", "limit")
    with pytest.raises(RpcError) as nul:
        await probe.call(CountMembers(cell_id="c\x001"))
    assert (nul.value.code, nul.value.field) == ("invalid", "cell_id")
    with pytest.raises(RpcError) as bug:
        await probe.call(CountMembers(cell_id="unknown-cell"))
    assert bug.value.code == "internal"


async def test_a_refusal_travels_with_its_code_and_values_over_the_broker(probe: RpcClient) -> None:
    """A method's RpcError carrying a refusal reaches the caller with the code typed and its values, beside the
    English message; an error without one keeps the wire form it always had (no `refusal` key)."""
    with pytest.raises(RpcError) as conflict:
        await probe.call(CountMembers(cell_id="replayed"))
    refusal = conflict.value.refusal
    assert conflict.value.code == "conflict" and refusal is not None
    assert refusal.code is RefusalCode.ALREADY_REPLAYED and refusal.accepted_at == REPLAYED_AT
    plain = await answer(RpcRequest(method="count_members", params={"cell_id": "c1", "limit": 50}), probe_methods())
    assert "refusal" not in plain["error"]


async def test_a_request_holding_nan_or_infinity_is_refused_naming_the_field_before_it_is_sent() -> None:
    """JSON has no NaN: pydantic wrote it as null, so `settle_minutes=NaN` reached notifications as "give it back to
    the level above" and erased a committee's setting."""
    client = RpcClient(None, timeout=0.1)  # type: ignore[arg-type]  # refused before any broker is used
    for value in (float("nan"), float("inf"), float("-inf")):
        change = notifications_rpc.SetRule(unit_id="u", rule="meeting_rated_low", params={"settle_minutes": value})
        with pytest.raises(RpcError) as refused:
            await client.call(change)
        assert (refused.value.code, refused.value.field) == ("invalid", "params.settle_minutes")


async def test_the_callers_correlation_id_travels_with_every_call_and_is_on_every_line_of_the_method(
    amqp_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Trial: the gateway's id of an HTTP request was on no line of the service it called. Bound to the caller's lines
    (as the gateway binds each request's) or given, it goes with the request; each line the method logs names it,
    and request_correlation_id gives it to the method (meetings stamps it on the events it carries in)."""
    route_logs_to_stdlib(caplog)
    seen: list[str | None] = []

    async def logging_count(request: CountMembers) -> CountReply:
        seen.append(request_correlation_id())
        get_logger("rpcprobe").info("probe_counted", cell_id=request.cell_id)
        return CountReply(cell_id=request.cell_id, members=1)

    methods = RpcMethods("rpcprobe")
    methods.add(CountMembers, logging_count)
    async with serving_probe(amqp_url, methods) as client:
        with structlog.contextvars.bound_contextvars(correlation_id="bound-by-the-gateway"):
            await client.call(CountMembers(cell_id="c1"))
            await client.call(CountMembers(cell_id="c2"), correlation_id="given-one")
        await client.call(CountMembers(cell_id="c3"))
    assert seen == ["bound-by-the-gateway", "given-one", None]
    counted = {
        line["cell_id"]: line.get("correlation_id")
        for line in structured_logs(caplog)
        if line["event"] == "probe_counted"
    }
    assert counted == {"c1": "bound-by-the-gateway", "c2": "given-one", "c3": None}
    assert request_correlation_id() is None  # nothing left bound after the call


def test_a_reply_is_parsed_once_whatever_it_says(monkeypatch: pytest.MonkeyPatch) -> None:
    """read_reply parsed an error reply, and a result out of the model's contract, twice (as TypedRpcReply, then as
    RpcReply): each reply is read from its bytes once, and still answers as before (the result, the error's code,
    field and refusal, `internal` for a result out of contract)."""
    parsed: list[str] = []
    original = BaseModel.model_validate_json.__func__  # type: ignore[attr-defined]

    def counting(cls: type[BaseModel], *args: Any, **kwargs: Any) -> Any:
        parsed.append(cls.__name__)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(BaseModel, "model_validate_json", classmethod(counting))
    request = CountMembers(cell_id="c1")
    assert read_reply(request, b'{"ok": true, "result": {"cell_id": "c1", "members": 2}}').members == 2
    refusal = {"code": "already_replayed", "accepted_at": "2026-12-04T19:30:00+07:00"}
    error = {"code": "conflict", "message": "m", "field": "cell_id", "refusal": refusal}
    with pytest.raises(RpcError) as refused:
        read_reply(request, json.dumps({"ok": False, "error": error}).encode())
    assert (refused.value.code, refused.value.field) == ("conflict", "cell_id")
    assert refused.value.refusal is not None and refused.value.refusal.code == RefusalCode.ALREADY_REPLAYED
    for result in ({"cell_id": "c1"}, None, [1]):
        with pytest.raises(RpcError) as wrong:
            read_reply(request, json.dumps({"ok": True, "result": result}).encode())
        assert wrong.value.code == "internal"
    with pytest.raises(ValidationError):
        read_reply(request, b"not json")
    assert len(parsed) == 6, parsed


@pytest.mark.parametrize(
    ("amqp_url", "user"),
    [
        ("amqp://ops%40ward%3A7:secret@127.0.0.1:5672/chibo", "ops@ward:7"),  # as the client logs in: decoded
        ("amqp://chibo-ops:secret@127.0.0.1/", "chibo-ops"),
        ("amqp://127.0.0.1/", "guest"),  # none named: the client's default
    ],
)
def test_the_caller_hint_names_the_broker_user_the_url_logs_in_as(amqp_url: str, user: str) -> None:
    """caller_hint names the user as shared.config.broker_user_of reads it, percent-escapes decoded."""
    hint = caller_hint("shared.ops", "held list", "meetings", amqp_url)
    assert f"does not take calls from broker user {user!r} (not in its CHIBO_RPC_CALLERS)" in hint, hint
    assert broker_user_of(amqp_url) == user
