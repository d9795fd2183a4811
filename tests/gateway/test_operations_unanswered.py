"""An operator's form (a dead-letter replay or purge, a parked row's replay or drop, a held event's retry or drop, a
rejection's replay or dismissal) that its service did not answer was sent: it may have been done. The page said "Chưa
có gì được lưu ... chưa được gửi đi", which may be untrue; it now says the action may already have been carried out,
to check the list before sending it again, and gives the form back (core.form_again_page with the form's own note).
Sent again it does nothing twice: a dead-letter replay sent again from the same form sends no letter back twice,
though it died again meanwhile (the real broker, the services' own dead-letter code)."""

import html
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel

from services.gateway.bootstrap import GatewayState
from shared.contracts.ops_rpc import PurgeDeadLetters, ReplayDeadLetters
from shared.rpc import ServiceUnavailable
from shared.topology import EVALUATION_FACTS
from tests.gateway.fakes import World
from tests.gateway.test_forms_again import as_data, submitted, text_of
from tests.gateway.test_minutes_label_pages import csrf_of, signed_in
from tests.gateway.test_recovery import dead_letter
from tests.support.running import eventually

QUEUE = EVALUATION_FACTS.name
DLQ = EVALUATION_FACTS.dead_letter_queue
PERHAPS_DONE = "có thể việc này đã được thực hiện"
CHECK_LIST = "xem lại danh sách trước khi gửi lại"
NOT_SENT = "chưa được gửi đi"
PERHAPS_DELETED = "có thể các tin nhắn không xử lý được đã bị xóa"


@pytest.fixture
async def operator(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client signed in as an operator of the test's own, signed out afterwards."""
    async with signed_in(client, amqp_url, database_url, "operator", None, None) as operator:  # type: ignore[arg-type]
        yield operator


def done_but_unanswered(state: GatewayState, kinds: tuple[type, ...]) -> Any:
    """The gateway's RPC call, requests of `kinds` carried out by their service and then not answered in time."""
    call = state.rpc.call

    async def unanswered(request: Any, **kwargs: Any) -> Any:
        reply = await call(request, **kwargs)
        service = str(request.service)
        if isinstance(request, kinds):
            raise ServiceUnavailable(service)  # done; its answer came too late
        return reply

    return unanswered


def send_all_back_form(page: str) -> dict[str, str]:
    """The "send all back" form of the page's evaluation.facts dead letters, as a browser sends it."""
    forms = re.findall(r"<form method=\"post\" action=\"[^\"]*dead-letters/replay[^\"]*\">(.*?)</form>", page, re.S)
    whole = [form for form in forms if 'name="key"' not in form and f'value="{DLQ}"' in form]
    assert whole, forms
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', whole[0]))


async def die_again(channel: AbstractChannel) -> dict[str, Any]:
    """Take the copy a replay sent back to evaluation.facts and reject it, as the consumer still failing does: it is
    a dead letter again, with the copy's headers; those headers."""
    queue = await channel.get_queue(QUEUE, ensure=False)
    copy = await eventually(lambda: queue.get(no_ack=False, fail=False))
    headers = dict(copy.headers or {})
    await copy.reject(requeue=False)
    return headers


async def dead_letters(channel: AbstractChannel) -> int:
    """How many dead letters evaluation.facts.dlq holds."""
    declared = await channel.declare_queue(DLQ, passive=True)
    return declared.declaration_result.message_count or 0


async def test_a_replay_unanswered_says_it_may_be_done_and_sent_again_sends_no_letter_twice(
    operator: httpx.AsyncClient, state: GatewayState, channel: AbstractChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = await dead_letter(channel)

    async def listed() -> str | None:
        page = (await operator.get("/app/operations")).text
        return page if event_id in page else None

    form = send_all_back_form(await eventually(listed))
    assert form.get("form_key"), form  # the replay names itself by it
    monkeypatch.setattr(state.rpc, "call", done_but_unanswered(state, (ReplayDeadLetters,)))
    lost = await operator.post("/app/operations/dead-letters/replay", data=form)
    monkeypatch.undo()
    assert lost.status_code == 503, lost.text[-2000:]
    said = text_of(lost.text)
    assert PERHAPS_DONE in said and CHECK_LIST in said, said[-2000:]
    assert NOT_SENT not in said and "Có thể đã thực hiện xong" in said, said[-2000:]
    assert 'href="/app/operations"' in lost.text and "Mở lại trang vận hành" in said
    again = submitted(lost.text)
    assert dict(again.pairs)["form_key"] == form["form_key"], again.pairs

    # it was done: the letter went back, and died again there (the consumer still fails it)
    assert await dead_letters(channel) == 0
    assert (await die_again(channel))["x-chibo-replayed"] == 1
    assert await eventually(lambda: dead_letters(channel)) == 1

    resent = await operator.post("/app/operations/dead-letters/replay", data=as_data(again.pairs))
    assert resent.status_code == 303, resent.text[-2000:]
    queue = await channel.get_queue(QUEUE, ensure=False)
    assert await queue.get(fail=False) is None  # the same replay: not sent back a second time
    assert await dead_letters(channel) == 1

    # a replay of the page drawn anew is another one: the letter goes back
    form = send_all_back_form((await operator.get("/app/operations")).text)
    replayed = await operator.post("/app/operations/dead-letters/replay", data=form)
    assert replayed.status_code == 303, replayed.text[-2000:]
    assert (await die_again(channel))["x-chibo-replayed"] == 2


async def test_a_purge_unanswered_says_the_letters_may_be_deleted_and_sent_again_deletes_none_that_died_since(
    operator: httpx.AsyncClient, state: GatewayState, channel: AbstractChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge's form named no letter: sent again after a timeout, it deleted whatever the queue held by then."""
    await dead_letter(channel)
    page = (await operator.get("/app/operations")).text
    form = purge_form(page)
    assert form.get("count") == "1" and form.get("through") and len(form.get("newest", "")) == 32, form
    assert SHOWN_ONLY in html.unescape(text_of(page))
    monkeypatch.setattr(state.rpc, "call", done_but_unanswered(state, (PurgeDeadLetters,)))
    lost = await operator.post("/app/operations/dead-letters/purge", data=form | {"confirm": "yes"})
    monkeypatch.undo()
    assert lost.status_code == 503, lost.text[-2000:]
    said = html.unescape(text_of(lost.text))
    assert PERHAPS_DELETED in said and "không bao giờ xóa tin nhắn không xử lý được phát sinh sau đó" in said, said[
        -2000:
    ]
    assert NOT_SENT not in said, said[-2000:]
    assert await dead_letters(channel) == 0  # it was done
    # a letter that dies after the page was shown, then the same form sent again
    later = datetime.fromisoformat(form["through"]) + timedelta(seconds=10)
    await channel.default_exchange.publish(
        aio_pika.Message(b'{"id": "evt-later"}', message_id="evt-later", timestamp=later), routing_key=DLQ
    )
    # and one that dies in the very second the page's newest letter died (a death's time is in whole seconds)
    same = datetime.fromisoformat(form["through"])
    await channel.default_exchange.publish(
        aio_pika.Message(b'{"id": "evt-same"}', message_id="evt-same", timestamp=same), routing_key=DLQ
    )

    async def both() -> bool:
        return await dead_letters(channel) == 2

    assert await eventually(both)
    resent = await operator.post("/app/operations/dead-letters/purge", data=form | {"confirm": "yes"})
    assert resent.status_code == 303, resent.text[-2000:]
    assert await dead_letters(channel) == 2  # not shown, not deleted


SHOWN_ONLY = "Chỉ những tin nhắn không xử lý được mà trang này liệt kê mới bị xóa"


def purge_form(page: str) -> dict[str, str]:
    """The "delete all" form of the page's evaluation.facts dead letters: its hidden inputs, as a browser sends them."""
    forms = re.findall(r"<form method=\"post\" action=\"[^\"]*dead-letters/purge[^\"]*\">(.*?)</form>", page, re.S)
    mine = [form for form in forms if f'value="{DLQ}"' in form]
    assert mine, forms
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', mine[0]))


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/app/operations/parked/drop", {"service": "meetings", "id": "1", "reason": "Sự kiện thử"}),
        ("/app/operations/held/retry", {"source": "urn:test:held", "event_id": "evt-x"}),
        ("/app/operations/held/drop", {"source": "urn:test:held", "event_id": "evt-x", "reason": "Không cần nữa"}),
        ("/app/operations/parked/replay", {"service": "meetings"}),
        ("/app/operations/rejections/replay", {"rejection_id": "rej-x", "event_id": "evt-x"}),
        ("/app/operations/rejections/dismiss", {"rejection_id": "rej-x", "event_id": "evt-x", "reason": "Thử"}),
    ],
)
async def test_every_action_form_unanswered_says_it_may_be_done(
    operator: httpx.AsyncClient, state: GatewayState, monkeypatch: pytest.MonkeyPatch, path: str, form: dict[str, str]
) -> None:
    async def silent(request: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable(request.service)  # sent; no answer (whether it was done is not known)

    page = (await operator.get("/app/operations")).text
    monkeypatch.setattr(state.rpc, "call", silent)
    lost = await operator.post(path, data={"csrf": csrf_of(page), **form})
    monkeypatch.undo()
    assert lost.status_code == 503, lost.text[-2000:]
    said = text_of(lost.text)
    assert PERHAPS_DONE in said and CHECK_LIST in said and NOT_SENT not in said, said[-2000:]
    assert dict(submitted(lost.text).pairs).items() >= form.items()
