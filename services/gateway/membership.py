"""Whether a signed-in member's or secretary's account still stands: its person still a member of its cell (and, for a
secretary, still its secretary or deputy secretary), asked of meetings and remembered briefly.

An account is checked when it is made (handlers.require_member); this checks it again on every request, so one whose
person has since left the cell (transferred, removed by a member snapshot) or stepped down stops working within
`seconds`, not when its token expires.

The answers are kept in cachetools' TTLCache, bounded and least-recently-used first out, rather than the gateway's
TtlCache, which empties whole when full: every signed-in person is asked about on every request, so a full cache
emptied at once would send them all to meetings together. A person asked about by many requests at once is asked of
meetings once (the requests share the call).

A member's or secretary's account that names no person stands for nobody of its cell (it read no one's inbox, wrote
as no one): it is refused (`no_person`), as one whose person the cell does not list is; roles without a cell's person
(committee officers, operators, integrations, admins) are not asked about.

While meetings does not answer, a command (any request that may change something) and a sign-in (`fresh`) are
refused (ServiceUnavailable, the gateway's 503), never let through unchecked nor on a kept answer: signing in is the
moment a member moved or removed loses access, so it needs meetings' answer now (a trial with meetings killed signed a
secretary in on the last answer kept). They wait `read_timeout`, then ask the broker whether meetings has a consumer
(`gone`, UnitDirectory.gone_now): with none they are refused at once, else they wait for meetings as long as the RPC
timeout. A read waits `read_timeout` at most, then goes on with the last
answer known (refused if that was a refusal, else allowed) and, for a person with a last answer, a failed lookup is
not tried again by reads for `retry_seconds`. A read for a person with no answer known yet is refused too
(ServiceUnavailable naming meetings): nothing says their account still stands, so none is let through unchecked.

The last answer goes on for `kept_seconds` after meetings gave it (CHIBO_MEMBERSHIP_KEPT_SECONDS, an hour by
default; the same cap as a unit's kept copy, kept.KeptCopies), no longer: it had no age, so a member moved or removed
long before meetings went down still read their old cell for as long as meetings stayed down. An older answer is as
none (the same 503 naming meetings; the web app's "try again" page with Retry-After)."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from cachetools import TTLCache

from services.gateway.auth import Principal, Role
from services.gateway.handlers import PERSON_IN_CELL, Rpc, listed_member, membership_problem
from services.gateway.kept import KeptCopies
from shared.logs import get_logger
from shared.rpc import RpcError, ServiceUnavailable

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an account no longer stands: `reason` `left` (its person no longer listed by the cell), `position` (a
    secretary's person no longer its secretary or deputy) or `no_person` (a member's or secretary's account naming no
    person), and the English message the API answers."""

    reason: str
    message: str


class MembershipCheck:
    """The standing of member and secretary accounts (see the module), cached for `seconds` per (role, cell, person)."""

    def __init__(
        self,
        rpc: Rpc,
        *,
        seconds: float,
        read_timeout: float,
        retry_seconds: float,
        kept_seconds: float = 3600.0,
        max_entries: int = 100_000,
        timer: Callable[[], float] = time.monotonic,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._rpc = rpc
        self._gone = gone
        """Whether the broker says meetings is down (no consumer on meetings.rpc): a sign-in or command need not wait
        the RPC timeout for it. None: never said (they wait the timeout)."""
        self._read_timeout = read_timeout
        self._fresh: TTLCache[str, Refusal | None] = TTLCache(max_entries, ttl=seconds, timer=timer)
        self._last: KeptCopies[Refusal | None] = KeptCopies(seconds=kept_seconds, max_entries=max_entries, timer=timer)
        """The latest answer of each key: what a read goes on with while meetings does not answer, at most
        `kept_seconds` old."""
        self._failed: TTLCache[str, bool] = TTLCache(max_entries, ttl=retry_seconds, timer=timer)
        self._asking: dict[str, asyncio.Task[Refusal | None]] = {}

    async def refusal(self, principal: Principal, *, command: bool, fresh: bool = False) -> Refusal | None:
        """Why `principal` may not go on (its account no longer stands, or a member's or secretary's names no person),
        or None when it may or is not checked (a role but member or secretary). ServiceUnavailable (meetings) for a
        `command` or a `fresh` ask when meetings does not answer (fail closed: after `read_timeout` at once when the
        broker says meetings is gone, else after the RPC timeout), and for a read when it does not answer within
        `read_timeout` and no young answer for the person is known; a read otherwise goes on with the last answer.
        `fresh` (signing in) asks meetings now, past a kept answer or a lookup already under way, never goes on with
        a kept answer, and keeps what it hears for the requests after."""
        role, unit, person = principal.role, principal.unit_id, principal.person_id
        if role not in PERSON_IN_CELL:
            return None
        if not unit or not person:
            return Refusal(
                "no_person",
                f"this {role.value} account names no person (person_id): a {role.value} account stands for one member"
                " of its cell; ask an administrator to give it the person_id of the member it is for",
            )
        key = f"{role.value}/{unit}/{person}"
        if not fresh and key in self._fresh:
            return self._fresh[key]
        if not fresh and not command and key in self._failed and self._last.has_young(key):
            return self._last.young(key)
        task = None if fresh else self._asking.get(key)
        if task is None:
            task = asyncio.create_task(self._ask(key, role, unit=unit, person=person))
            self._asking[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        if command or fresh:  # fail closed: meetings' silence (ServiceUnavailable) is the answer, no kept one
            return await self._answer_now(task, principal)
        try:
            return await asyncio.wait_for(asyncio.shield(task), self._read_timeout)
        except (RpcError, TimeoutError) as exc:
            log.warning("membership_not_checked", sub=principal.sub, cell_id=unit, error=repr(exc))
            self._failed[key] = True
            if not self._last.has_young(key):  # never known to stand, or not lately: not let through unchecked
                detail = (
                    "the gateway lets a read through on its last answer that this account stands only while that"
                    f" answer is at most {self._last.seconds:g} s old, and it has none that recent; try again once"
                    " meetings answers"
                )
                if isinstance(exc, ServiceUnavailable):
                    raise exc.explained(detail) from exc.__cause__
                raise ServiceUnavailable("meetings", detail) from exc
            return self._last.young(key)

    async def _answer_now(self, task: "asyncio.Task[Refusal | None]", principal: Principal) -> Refusal | None:
        """`task`'s answer (meetings' own); ServiceUnavailable (meetings) when it gives none: at once after
        `read_timeout` when the broker says meetings is gone (no process takes its requests), else when the call's
        own RPC timeout ends it (a meetings there but slow is waited for)."""
        done, _ = await asyncio.wait({task}, timeout=self._read_timeout)
        if not done and self._gone is not None and await self._gone():
            log.warning("membership_not_checked", sub=principal.sub, cell_id=principal.unit_id, meetings_gone=True)
            raise ServiceUnavailable("meetings")
        return await asyncio.shield(task)

    def _settled(self, key: str, task: "asyncio.Task[Refusal | None]") -> None:
        """A lookup done: no longer shared, and its failure taken (a read that stopped waiting left it unread)."""
        if self._asking.get(key) is not task:  # a fresh lookup started since (refusal's `fresh`) speaks for the key
            return
        del self._asking[key]
        if not task.cancelled() and task.exception() is not None:
            self._failed[key] = True

    async def _ask(self, key: str, role: Role, *, unit: str, person: str) -> Refusal | None:
        """Ask meetings (GetMember) and remember the answer; RpcError when it does not give one."""
        member = await listed_member(self._rpc, unit_id=unit, person_id=person)
        problem = membership_problem(role, member, unit_id=unit, person_id=person)
        found = None
        if problem is not None:
            reason, now = ("left", "cell") if member is None else ("position", "position")
            found = Refusal(
                reason,
                f"this {role.value} account no longer stands: {problem} today (meetings' member list); ask an"
                f" administrator for an account of your {now} now",
            )
        if self._asking.get(key) is not asyncio.current_task():
            return found  # a fresh lookup started since: its answer is the newer one to keep
        self._fresh[key] = found
        self._last.put(key, found)
        self._failed.pop(key, None)
        return found
