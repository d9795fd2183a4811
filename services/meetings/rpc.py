"""The meetings.rpc methods (shared/contracts/meetings_rpc.py), each calling one handler or query."""

import asyncio
import base64
import time
from datetime import timedelta
from functools import partial
from typing import Any

from services.meetings import handlers, queries
from services.meetings.context import MeetingsContext
from services.meetings.handlers import trace
from services.meetings.repository.ingest import register_sources, sync_sources
from shared.contracts import meetings_rpc as rpc
from shared.envelope import InvalidEvent, is_batch, now
from shared.logs import get_logger, request_correlation_id
from shared.ops.rpc import add_ops_methods
from shared.periods import local_date
from shared.rpc import RpcError, RpcMethods

log = get_logger(__name__)


async def _sender_sources(
    scope: str | None, sources: list[str] | None, app: MeetingsContext, account: str = ""
) -> handlers.Sources:
    """The sources a request's sender may use; a scoped account's are registered to its unit and to it (`account`)
    first (once per process and list), so from then on no other sender may use them, and a replay of its rejection
    is judged by them. `forbidden` for sources without a scope."""
    if sources is None:
        return None
    if scope is None:
        raise RpcError("forbidden", "sources: only a scoped integration account registers sources", field="sources")
    allowed = frozenset(sources)
    if (scope, account, allowed) not in _REGISTERED:
        await register_sources(app.pool, unit_id=scope, sources=sorted(allowed), account=account or None)
        _REGISTERED.add((scope, account, allowed))
    return allowed


_REGISTERED: set[tuple[str, str, frozenset[str]]] = set()
"""(unit, account, sources) this process has registered: a partner's every call does not write the registry
again."""


async def sync_registered_sources(request: rpc.SyncSources, app: MeetingsContext) -> rpc.SourcesSyncedReply:
    """Make the registry of scoped accounts' sources the gateway's (see SyncSources); `invalid` naming `accounts`
    when two units claim one source."""
    owners: dict[str, tuple[str, str | None]] = {}
    for account in request.accounts:
        for source in account.sources:
            owner = (account.unit_id, account.account)
            if owners.setdefault(source, owner) != owner:
                raise RpcError("invalid", f"accounts: source {source} is claimed by two accounts", field="accounts")
    async with app.pool.acquire() as conn, conn.transaction():
        registered, released, written = await sync_sources(conn, owners=owners)
    if released or written:
        _REGISTERED.clear()  # what this process registered before may have moved or been released
    if released:
        log.info("registered_sources_released", released=released)
    return rpc.SourcesSyncedReply(registered=registered, released=released)


async def ingest(request: rpc.Ingest, app: MeetingsContext) -> rpc.IngestReply:
    """Judge the raw events exactly as if they had arrived on chibo.ingest."""
    judge = handlers.dry_run if request.dry_run else handlers.ingest_batch
    sources = await _sender_sources(request.scope, request.sources, app, request.account)
    outcomes = await judge(
        request.events,
        app.uow_factory,
        route=request.route or "http",
        scope=request.scope,
        sources=sources,
        account=request.account or None,
    )
    log.info(
        "rpc_ingest", account=request.account, scope=request.scope, events=len(request.events), dry_run=request.dry_run
    )
    return rpc.IngestReply.model_validate({"results": [result.as_dict(index) for index, result in enumerate(outcomes)]})


async def ingest_body(request: rpc.IngestBody, app: MeetingsContext) -> dict[str, Any]:
    """Read and judge a body's bytes exactly as a chibo.ingest delivery (the gateway's POST /v1/events); the reply
    names the correlation id its events name when the request is followed by it from then on (IngestReply)."""
    asked = request_correlation_id()
    try:
        body = base64.b64decode(request.body_base64, validate=True)
    except ValueError:
        raise RpcError("invalid", "body_base64 is not base64", field="body_base64") from None
    if request.over_limit is not None:  # the gateway refused it at its limit: only its first bytes came
        outcomes = await handlers.reject_cut_body(
            body,
            app.uow_factory,
            limit=request.over_limit,
            declared=request.declared_size,
            batch=is_batch(request.content_type, body=body, headers=request.headers),
            route=request.route or "http",
            scope=request.scope,
            sources=await _sender_sources(request.scope, request.sources, app, request.account),
            headers=request.headers,
            dry_run=request.dry_run,
            account=request.account or None,
        )
        log.info("rpc_ingest_body_cut", account=request.account, scope=request.scope, limit=request.over_limit)
        return {"results": [result.as_dict(0) for result in outcomes]}
    outcomes = await handlers.ingest_delivery(
        body,
        app.uow_factory,
        batch=is_batch(request.content_type, body=body, headers=request.headers),
        route=request.route or "http",
        headers=request.headers,
        content_type=request.content_type,
        dry_run=request.dry_run,
        scope=request.scope,
        sources=await _sender_sources(request.scope, request.sources, app, request.account),
        account=request.account or None,
        deadline=handlers.deadline_of(request.answer_by),
    )
    log.info("rpc_ingest_body", account=request.account, scope=request.scope, events=len(outcomes))
    followed = request_correlation_id()  # ingest_delivery follows the request by its events' own id (read once)
    return {
        "results": [result.as_dict(index) for index, result in enumerate(outcomes)],
        "correlation_id": followed if followed != asked else None,
    }


async def replay_rejection(request: rpc.ReplayRejection, app: MeetingsContext) -> dict[str, Any]:
    """Judge a stored rejection again (rpc.ReplayRejection says every answer): not_found when there is none (or no
    such attempt), conflict when it is no longer open or, replayed as it was, cannot pass (body_not_kept,
    body_reads_no_json, refused_again_as_sent), invalid for a correction or sender refused."""

    async def replay() -> tuple[handlers.IngestResult, list[tuple[str, str]]]:
        with trace.tracing() as judged, handlers.releasing_later(REPLAY_RELEASES_INLINE):
            async with app.uow_factory() as uow:
                result = await handlers.replay_rejection(
                    request.rejection_id,
                    uow,
                    event=request.event,
                    attempt=request.attempt,
                    sender=request.sender,
                    by=request.replayed_by,
                )
                await uow.commit()
            trace.report(judged)  # the replayed event and what it released inline, once committed
        return result, uow.ingest.deferred

    try:
        # a lost deadlock is run again
        result, deferred = await handlers.with_retries(replay, what="replay_rejection")
    except handlers.RejectionNotFound:
        raise RpcError("not_found", f"no rejection {request.rejection_id}", field="rejection_id") from None
    except handlers.AttemptNotFound as exc:
        raise RpcError("not_found", str(exc), field="attempt") from None
    except handlers.RejectionResolved as exc:  # replayed already: a second replay changes nothing
        raise RpcError("conflict", str(exc), field="rejection_id", refusal=exc.refusal) from None
    except handlers.RejectionUnreplayable as exc:  # not kept as sent, no JSON, or refused again as sent (its code)
        raise RpcError("conflict", str(exc), field="rejection_id", refusal=exc.refusal) from None
    except InvalidEvent as exc:  # a correction that changes the rejected event's identity (issue 11)
        raise RpcError("invalid", exc.reason, field=exc.field, refusal=exc.refusal) from None
    _release_after(deferred, app)
    log.info("rejection_replayed", rejection_id=request.rejection_id, outcome=result.outcome, releasing=len(deferred))
    # the operator reads the real reason a scoped sender was not told
    return {**result.for_operator().as_dict(0), "releasing": len(deferred)}


REPLAY_RELEASES_INLINE = 50
"""At most this many held events a replayed event releases are judged in the replay's own transaction; more are
judged after it commits (_release_after) and the answer says how many (ReplayReply.releasing): the trial's replay of
a unit releasing ~1,000 held members answered 503 after the 25 s RPC timeout, audited as such, though it succeeded."""

_RELEASING: set[asyncio.Task[None]] = set()
"""The releases running after their replay answered (kept referenced until done)."""


def _release_after(deferred: list[tuple[str, str]], app: MeetingsContext) -> None:
    """Judge the held events a committed replay or retry released for later, in the background (each logged and
    counted as `release`); a process stopped meanwhile leaves them to the sweep (sweep_released)."""
    if not deferred:
        return
    task = asyncio.create_task(handlers.settle_released_safely(deferred, app.uow_factory))
    _RELEASING.add(task)
    task.add_done_callback(_RELEASING.discard)


async def dismiss_rejection(request: rpc.DismissRejection, app: MeetingsContext) -> dict[str, Any]:
    """Close an open rejection unreplayed, saying who and why; the rejection as it now reads. not_found when there is
    none, conflict (its refusal ALREADY_REPLAYED or ALREADY_DISMISSED) when it is no longer open; logged and counted
    once committed (dismissed_said), so a transaction lost to a race and run again counts once."""

    async def dismiss() -> None:
        async with app.uow_factory() as uow:
            await handlers.dismiss_rejection(request.rejection_id, uow, reason=request.reason, by=request.dismissed_by)
            await uow.commit()

    try:
        await handlers.with_retries(dismiss, what="dismiss_rejection")
    except handlers.RejectionNotFound:
        raise RpcError("not_found", f"no rejection {request.rejection_id}", field="rejection_id") from None
    except handlers.RejectionResolved as exc:
        raise RpcError("conflict", str(exc), field="rejection_id", refusal=exc.refusal) from None
    handlers.dismissed_said([request.rejection_id], by=request.dismissed_by, reason=request.reason, named_by="id")
    async with app.pool.acquire() as conn:
        return _found(await queries.rejection(conn, request.rejection_id), "no rejection", "rejection_id")


DISMISS_BUDGET_SECONDS = 10.0
"""How long one DismissRejections call keeps closing batches before it answers with `remaining` > 0 for its caller
to ask again (shared.rejection_dismissal): well under the callers' RPC timeout, however many rows match."""


async def dismiss_rejections(request: rpc.DismissRejections, app: MeetingsContext) -> dict[str, Any]:
    """Close the open rejections `request.filter` selects, `request.batch` rows per transaction (each batch commits:
    100,000 rows never hold one long transaction), for at most DISMISS_BUDGET_SECONDS; `matched` counted first,
    `remaining` the open ones it still selects after; each batch logged and counted once committed (a batch rolled
    back and run again, once). A dry run only counts, saying when (`counted_at`, the clock rejections are received
    by); with `expected` given and another number selected now, nothing is closed (`expected_differs`)."""
    counted_at = now()
    async with app.pool.acquire() as conn:
        matched = await queries.count_open_rejections(conn, request.filter)
    differs = request.expected is not None and matched != request.expected
    dismissed = 0
    started = time.monotonic()
    while not request.dry_run and not differs and time.monotonic() - started < DISMISS_BUDGET_SECONDS:

        async def batch() -> list[str]:
            async with app.uow_factory() as uow:
                closed = await handlers.dismiss_matching_rejections(
                    request.filter, uow, limit=request.batch, reason=request.reason, by=request.dismissed_by
                )
                await uow.commit()
                return closed

        closed = await handlers.with_retries(batch, what="dismiss_rejections")
        handlers.dismissed_said(closed, by=request.dismissed_by, reason=request.reason, named_by="filter")  # committed
        dismissed += len(closed)
        if len(closed) < request.batch:
            break
    async with app.pool.acquire() as conn:
        remaining = 0 if request.dry_run else await queries.count_open_rejections(conn, request.filter)
    log.info(
        "rejections_dismissed",
        **request.filter.given(),
        matched=matched,
        dismissed=dismissed,
        remaining=remaining,
        dry_run=request.dry_run,
        expected=request.expected,
        expected_differs=differs,
        by=request.dismissed_by,
        reason=request.reason,
    )
    return {
        "matched": matched,
        "dismissed": dismissed,
        "remaining": remaining,
        "dry_run": request.dry_run,
        "counted_at": counted_at,
        "expected_differs": differs,
    }


async def get_unit(request: rpc.GetUnit, app: MeetingsContext) -> dict[str, Any]:
    """One unit with its ancestors."""
    async with app.pool.acquire() as conn:
        return _found(await queries.get_unit(conn, request.unit_id), f"no unit {request.unit_id}", "unit_id")


async def known_units(request: rpc.KnownUnits, app: MeetingsContext) -> dict[str, Any]:
    """Which of the unit ids asked are units."""
    async with app.pool.acquire() as conn:
        return {"unit_ids": await queries.known_units(conn, request.unit_ids)}


async def list_units(request: rpc.ListUnits, app: MeetingsContext) -> dict[str, Any]:
    """The children of a committee."""
    async with app.pool.acquire() as conn:
        return await queries.list_units(
            conn, parent_id=request.parent_id, limit=request.limit, offset=request.offset, after=request.after
        )


async def list_members(request: rpc.ListMembers, app: MeetingsContext) -> dict[str, Any]:
    """The members of a cell as of today in Vietnam (a removal counts from its `effective_on`), or at `at`."""
    async with app.pool.acquire() as conn:
        if request.at is not None:
            return await queries.list_members_at(
                conn, cell_id=request.cell_id, at=request.at, limit=request.limit, offset=request.offset
            )
        return await queries.list_members(
            conn, cell_id=request.cell_id, today=local_date(now()), limit=request.limit, offset=request.offset
        )


async def list_members_after(request: rpc.ListMembersAfter, app: MeetingsContext) -> dict[str, Any]:
    """A page of a cell's members in id order after `after_id`, as list_members lists them today in Vietnam or at
    `at`, or from `since` to `at` (queries.list_members_after, list_members_at_after)."""
    async with app.pool.acquire() as conn:
        if request.at is not None:
            return await queries.list_members_at_after(
                conn,
                cell_id=request.cell_id,
                at=request.at,
                after_id=request.after_id,
                limit=request.limit,
                since=request.since,
            )
        return await queries.list_members_after(
            conn, cell_id=request.cell_id, today=local_date(now()), after_id=request.after_id, limit=request.limit
        )


async def get_member(request: rpc.GetMember, app: MeetingsContext) -> dict[str, Any]:
    """One member of a cell as of today in Vietnam, as list_members lists them; not_found naming `member_id`."""
    async with app.pool.acquire() as conn:
        found = await queries.get_member(
            conn, cell_id=request.cell_id, member_id=request.member_id, today=local_date(now())
        )
    return _found(found, f"no member {request.member_id} in cell {request.cell_id}", "member_id")


async def list_meetings(request: rpc.ListMeetings, app: MeetingsContext) -> dict[str, Any]:
    """The meetings of a cell, optionally of one period."""
    try:
        async with app.pool.acquire() as conn:
            return await queries.list_meetings(
                conn,
                cell_id=request.cell_id,
                period=request.period,
                limit=request.limit,
                offset=request.offset,
                after=request.after,
            )
    except InvalidEvent as exc:
        raise RpcError("invalid", exc.reason, field=exc.field) from None


async def get_meeting(request: rpc.GetMeeting, app: MeetingsContext) -> dict[str, Any]:
    """One meeting with everything recorded about it, and the facts held on what its secretary records (`waiting`)."""
    async with app.pool.acquire() as conn:
        hold_timeout = timedelta(seconds=app.settings.hold_timeout_seconds)
        found = await queries.get_meeting(conn, request.meeting_id, hold_timeout=hold_timeout)
    return _found(found, f"no meeting {request.meeting_id}", "meeting_id")


async def list_tasks(request: rpc.ListTasks, app: MeetingsContext) -> dict[str, Any]:
    """Tasks assigned at a cell's meetings."""
    async with app.pool.acquire() as conn:
        return await queries.list_tasks(
            conn,
            cell_id=request.cell_id,
            open_only=request.open_only,
            limit=request.limit,
            offset=request.offset,
            after=request.after,
        )


async def member_history(request: rpc.GetMemberHistory, app: MeetingsContext) -> dict[str, Any]:
    """A member's attendance history."""
    async with app.pool.acquire() as conn:
        found = await queries.member_history(conn, request.member_id)
    return _found(found, f"no member {request.member_id}", "member_id")


async def list_monitor_assignments(request: rpc.ListMonitorAssignments, app: MeetingsContext) -> dict[str, Any]:
    """The cells a person follows as upper-level monitor."""
    async with app.pool.acquire() as conn:
        return await queries.list_monitor_assignments(
            conn, person_id=request.person_id, limit=request.limit, offset=request.offset
        )


async def list_rejections(request: rpc.ListRejections, app: MeetingsContext) -> dict[str, Any]:
    """Stored rejections, newest first, with every status's count read in the same snapshot as the page."""
    async with app.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        return await queries.list_rejections(
            conn,
            type=request.type,
            status=request.status,
            limit=request.limit,
            offset=request.offset,
            after=request.after,
        )


async def list_held_events(request: rpc.ListHeldEvents, app: MeetingsContext) -> dict[str, Any]:
    """Held events, oldest first."""
    async with app.pool.acquire() as conn:
        return await queries.list_held_events(conn, limit=request.limit, offset=request.offset, after=request.after)


async def get_held_event(request: rpc.GetHeldEvent, app: MeetingsContext) -> dict[str, Any]:
    """One event still held; not_found when it is not (never held, applied, released or rejected)."""
    async with app.pool.acquire() as conn:
        found = await queries.held_event(conn, source=request.source, event_id=request.event_id)
    return _found(found, f"no held event {request.event_id} from {request.source}", "event_id")


async def get_rejection(request: rpc.GetRejection, app: MeetingsContext) -> dict[str, Any]:
    """One stored rejection by its id, whatever its status; not_found when there is none."""
    async with app.pool.acquire() as conn:
        found = await queries.rejection(conn, request.rejection_id)
    return _found(found, f"no rejection {request.rejection_id}", "rejection_id")


async def get_open_rejection(request: rpc.GetOpenRejection, app: MeetingsContext) -> dict[str, Any]:
    """An event's open rejection; not_found when it has none (never rejected, or replayed since)."""
    async with app.pool.acquire() as conn:
        found = await queries.open_rejection(conn, source=request.source, event_id=request.event_id)
    return _found(found, f"no open rejection of {request.event_id} from {request.source}", "event_id")


async def retry_held_event(request: rpc.RetryHeldEvent, app: MeetingsContext) -> dict[str, Any]:
    """Judge a held event again now; not_found when it is not held."""
    try:
        with trace.tracing() as judged:
            async with app.uow_factory() as uow:
                result = await handlers.retry_held(uow, source=request.source, event_id=request.event_id)
                await uow.commit()
            trace.report(judged)  # the retried event and what it released, once committed
    except handlers.HeldNotFound:
        raise RpcError(
            "not_found", f"no held event {request.event_id} from {request.source}", field="event_id"
        ) from None
    _release_after(uow.ingest.deferred, app)
    return result.for_operator().as_dict(0)  # the operator reads the real reason a scoped sender was not told


async def drop_held_event(request: rpc.DropHeldEvent, app: MeetingsContext) -> dict[str, Any]:
    """Stop holding an event (it becomes a rejection with the operator's reason); not_found when it is not held."""
    try:
        with trace.tracing() as dropped:
            async with app.uow_factory() as uow:
                result = await handlers.drop_held(
                    uow, source=request.source, event_id=request.event_id, reason=request.reason
                )
                await uow.commit()
            trace.report(dropped)  # its event_rejected line, once committed
    except handlers.HeldNotFound:
        raise RpcError(
            "not_found", f"no held event {request.event_id} from {request.source}", field="event_id"
        ) from None
    return result.as_dict(0)


def _found(value: dict[str, Any] | None, message: str, field: str) -> dict[str, Any]:
    if value is None:
        raise RpcError("not_found", message, field=field)
    return value


def rpc_methods(app: MeetingsContext) -> RpcMethods:
    """The meetings.rpc catalog bound to the service's context."""
    methods = RpcMethods("meetings")
    methods.add(rpc.Ingest, partial(ingest, app=app))
    methods.add(rpc.IngestBody, partial(ingest_body, app=app))
    methods.add(rpc.ReplayRejection, partial(replay_rejection, app=app))
    methods.add(rpc.DismissRejection, partial(dismiss_rejection, app=app))
    methods.add(rpc.DismissRejections, partial(dismiss_rejections, app=app))
    methods.add(rpc.SyncSources, partial(sync_registered_sources, app=app))
    methods.add(rpc.GetUnit, partial(get_unit, app=app))
    methods.add(rpc.KnownUnits, partial(known_units, app=app))
    methods.add(rpc.ListUnits, partial(list_units, app=app))
    methods.add(rpc.ListMembers, partial(list_members, app=app))
    methods.add(rpc.ListMembersAfter, partial(list_members_after, app=app))
    methods.add(rpc.GetMember, partial(get_member, app=app))
    methods.add(rpc.ListMeetings, partial(list_meetings, app=app))
    methods.add(rpc.GetMeeting, partial(get_meeting, app=app))
    methods.add(rpc.ListTasks, partial(list_tasks, app=app))
    methods.add(rpc.GetMemberHistory, partial(member_history, app=app))
    methods.add(rpc.ListMonitorAssignments, partial(list_monitor_assignments, app=app))
    methods.add(rpc.ListRejections, partial(list_rejections, app=app))
    methods.add(rpc.ListHeldEvents, partial(list_held_events, app=app))
    methods.add(rpc.GetHeldEvent, partial(get_held_event, app=app))
    methods.add(rpc.GetOpenRejection, partial(get_open_rejection, app=app))
    methods.add(rpc.GetRejection, partial(get_rejection, app=app))
    methods.add(rpc.RetryHeldEvent, partial(retry_held_event, app=app))
    methods.add(rpc.DropHeldEvent, partial(drop_held_event, app=app))
    add_ops_methods(methods, rpc.OPS, pool=app.pool, settings=app.settings)
    return methods
