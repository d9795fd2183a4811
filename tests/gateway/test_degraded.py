"""With one service stopped the gateway answers what it can and names the missing service."""

import asyncio
import json
import logging
import time

import httpx
import pytest

from services.gateway.auth import Principal, Role
from services.gateway.handlers import ingest_events, send_command
from shared.contracts.meetings import MeetingCancelled
from shared.contracts.meetings_rpc import IngestReply
from shared.logs import configure_logging
from shared.rpc import ServiceUnavailable
from tests.gateway.conftest import INGEST_TIMEOUT, RPC_TIMEOUT
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_ingest import BATCH, SINGLE, unit_event
from tests.support.logs import structured_logs
from tests.support.running import eventually


async def test_with_evaluation_stopped_meetings_still_answer_and_scores_are_503(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, fakes: FakeServices
) -> None:
    await fakes.evaluation.stop()
    try:
        meeting = await client.get(f"/v1/meetings/{world.meeting_a1}", headers=headers["member"])
        assert meeting.status_code == 200
        started = time.monotonic()
        score = await client.get(f"/v1/meetings/{world.meeting_a1}/score", headers=headers["member"])
        assert time.monotonic() - started < RPC_TIMEOUT + 5  # the RPC timeout, not a hang
        assert score.status_code == 503
        assert score.json() == {
            "code": "unavailable",
            "message": "the evaluation service did not answer",
            "field": None,
            "service": "evaluation",
        }
        assert score.headers["retry-after"]
        inbox = await client.get("/v1/me/inbox", headers=headers["member"])
        assert inbox.status_code == 200
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["services"]["evaluation"] == "no consumer"
        assert health.json()["services"]["meetings"] == "answering"
        assert health.json()["status"] == "degraded"  # it was "ok" beside a service nobody answers for
    finally:
        await fakes.evaluation.start()
    recovered = await client.get(f"/v1/meetings/{world.meeting_a1}/score", headers=headers["member"])
    assert recovered.status_code == 200


async def test_the_gateways_line_for_a_silent_service_is_the_gateways_and_names_the_dependency(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], fakes: FakeServices, caplog: pytest.LogCaptureFixture
) -> None:
    """A trial's gateway.log had 51 `service_unavailable` lines saying `"service": "meetings"`: filtering by
    service=gateway missed them. The line is the gateway's; the service that did not answer is its `dependency`."""
    configure_logging(service="gateway", json=True)
    logging.getLogger().addHandler(caplog.handler)
    await fakes.meetings.stop()
    try:
        response = await client.post(
            "/v1/events",
            content=b'{"specversion": "1.0"}',
            headers={**headers["integration"], "Content-Type": "application/cloudevents+json"},
        )
    finally:
        await fakes.meetings.start()
    assert response.status_code == 503 and response.json()["service"] == "meetings", response.text
    [line] = [line for line in structured_logs(caplog) if line["event"] == "service_unavailable"]
    assert (line["service"], line["dependency"], line["path"]) == ("gateway", "meetings", "/v1/events"), line


async def test_with_meetings_stopped_ingest_is_503_naming_meetings(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], fakes: FakeServices
) -> None:
    await fakes.meetings.stop()
    try:
        response = await client.post(
            "/v1/events",
            content=b'{"specversion": "1.0"}',
            headers={**headers["integration"], "Content-Type": "application/cloudevents+json"},
        )
        assert response.status_code == 503
        assert response.json()["service"] == "meetings"
        # a trial's batch had 250 of 1,000 events stored when meetings stopped: the partner is told so, and that
        # sending the same events again is safe (CONTRACT.md "Idempotency"), and when to
        message = response.json()["message"]
        assert message.startswith("the meetings service did not answer; some or all of the events sent may already")
        assert "Sending the same events again (the same source and id) is safe" in message, message
        assert response.headers["retry-after"] == "5"
        dry = await client.post(
            "/v1/events?dry_run=true",
            content=b'{"specversion": "1.0"}',
            headers={**headers["integration"], "Content-Type": "application/cloudevents+json"},
        )
        assert dry.status_code == 503 and "dry run, so nothing was stored" in dry.json()["message"], dry.text
    finally:
        await fakes.meetings.start()


async def test_a_command_meetings_did_not_answer_says_it_may_be_recorded() -> None:
    """A command's event id is the gateway's, new for each request: a resent command is no duplicate, so the 503
    tells the caller to read the meeting before sending it again."""

    class Silent:
        async def call(self, request: object, **_: object) -> object:
            raise ServiceUnavailable("meetings")

    principal = Principal(sub="sec", role=Role.SECRETARY, unit_id="c1", person_id=None, local=True)
    with pytest.raises(ServiceUnavailable) as caught:
        await send_command(
            rpc=Silent(),  # type: ignore[arg-type]
            principal=principal,
            event_type="meeting.cancelled.v1",
            model=MeetingCancelled,
            data={"meeting_id": "m1", "reason": "Mưa bão"},
            subject="m1",
        )
    said = caught.value.message
    assert said.startswith("the meetings service did not answer; the command (event "), said
    assert "may already have been recorded" in said and "same Idempotency-Key" in said, said
    assert "read the meeting before sending" in said, said
    assert caught.value.service == "meetings"


async def test_calls_to_live_services_are_not_queued_behind_a_silent_one(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, fakes: FakeServices
) -> None:
    await fakes.notifications.stop()
    try:

        async def timed(path: str) -> tuple[int, float]:
            response = await client.get(path, headers=headers["member"])
            return response.status_code, time.monotonic()

        started = time.monotonic()
        silent = [timed("/v1/me/inbox") for _ in range(5)]
        live = [timed(f"/v1/meetings/{world.meeting_a1}") for _ in range(5)]
        results = await asyncio.gather(*silent, *live)
    finally:
        await fakes.notifications.start()
    # Compared with each other, not with the wall clock: on a loaded machine the gateway's own work before the
    # RPC can take a second, but it delays every call alike.
    silent_ends = [ended for _, ended in results[:5]]
    live_ends = [ended for _, ended in results[5:]]
    assert [status for status, _ in results[:5]] == [503] * 5
    # each ends with its own timeout; queued one behind the other they would end a timeout or more apart
    assert max(silent_ends) - min(silent_ends) < RPC_TIMEOUT / 2
    assert max(silent_ends) - started < RPC_TIMEOUT + 8
    assert [status for status, _ in results[5:]] == [200] * 5
    assert max(live_ends) < min(silent_ends)  # none waited for the silent service


async def test_with_meetings_stopped_ingest_is_503_at_once_and_nothing_of_it_is_stored_when_meetings_starts(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, fakes: FakeServices
) -> None:
    """With meetings killed each POST /v1/events waited the whole ingest timeout (25 s in the trial, INGEST_TIMEOUT
    here) for its 503, though the broker said meetings.rpc had no consumer. The gateway asks first and, with none,
    answers the same 503 at once without sending the body: a body sent would wait on the queue for its expiration
    and a meetings started meanwhile would store events the sender was told were not taken."""
    event = unit_event(world)
    async with fakes.meetings.down():
        started = time.monotonic()
        response = await client.post(
            "/v1/events", content=json.dumps(event), headers={**headers["integration"], **SINGLE}
        )
        took = time.monotonic() - started
    assert response.status_code == 503, response.text
    assert response.json()["service"] == "meetings" and response.headers["retry-after"] == "5"
    message = response.json()["message"]
    assert message.startswith("the meetings service did not answer; some or all of the events sent may already")
    assert took < INGEST_TIMEOUT / 2, took
    # meetings is back: the queue is read in order, so a body left on it would be judged before this one
    after = unit_event(world)
    taken = await client.post("/v1/events", content=json.dumps(after), headers={**headers["integration"], **SINGLE})
    assert taken.status_code == 200, taken.text
    assert after in world.ingested
    assert event not in world.ingested


async def test_ingest_waits_for_a_meetings_that_is_there_but_slow() -> None:
    """The broker saying meetings has a consumer, the call is sent and waited for (up to the ingest timeout)."""
    answer = asyncio.Event()
    sent: list[object] = []

    class Slow:
        async def call(self, request: object, **_: object) -> object:
            sent.append(request)
            await answer.wait()
            return IngestReply(results=[])

    async def there() -> bool:
        return False

    async def gone() -> bool:
        return True

    integration = Principal(sub="feed", role=Role.INTEGRATION, unit_id="ward-a", person_id=None, local=True)
    call = asyncio.ensure_future(
        ingest_events(b"[]", BATCH["Content-Type"], principal=integration, rpc=Slow(), timeout=30, gone=there)  # type: ignore[arg-type]
    )
    await eventually(lambda: len(sent) == 1, timeout=10, interval=0.01)
    assert not call.done()
    answer.set()
    assert await asyncio.wait_for(call, 10) == ([], None)
    with pytest.raises(ServiceUnavailable) as silence:  # gone: nothing is sent
        await ingest_events(b"[]", BATCH["Content-Type"], principal=integration, rpc=Slow(), timeout=30, gone=gone)  # type: ignore[arg-type]
    assert silence.value.service == "meetings" and len(sent) == 1
