"""One save at a time of a page whose form is judged against what its page showed (a stale-page check): a
transaction-scoped PostgreSQL advisory lock in the gateway's database, held while the form is judged and sent."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import asyncpg

from services.gateway.bootstrap import GatewayState
from services.gateway.web.forms import FormErrors

LOCK_MARGIN_SECONDS = 5.0
"""How much longer than the lock's own wait (PostgreSQL's lock_timeout) the client waits for the statement: the
server's refusal, not the client's timeout, ends a wait that lasted too long."""


class SavedElsewhere(FormErrors):
    """A form whose lock another save held longer than `form_lock_wait_seconds`: refused, nothing judged nor sent,
    the form shown again as sent with the caller's message (someone else is saving it; reload and try again)."""


@asynccontextmanager
async def one_form_at_a_time(state: GatewayState, key: str, busy: Mapping[str, str]) -> AsyncIterator[None]:
    """Hold the advisory lock `key` (hashtextextended of the whole text, transaction-scoped, on a connection of
    `state.form_locks`) while the body runs, so a form's stale-page check and the command it lets through, from any
    gateway process, run before or after another's, never between. A lock another save holds longer than
    `state.settings.form_lock_wait_seconds` (CHIBO_FORM_LOCK_WAIT_SECONDS) raises SavedElsewhere(`busy`: the form's
    errors, field to Vietnamese message) before the body runs. The wait is the whole of it: for a connection of
    `state.form_locks` (every one held by other saves waiting or holding) and then for the lock, together bounded."""
    wait = state.settings.form_lock_wait_seconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    try:
        connection = await state.form_locks.acquire(timeout=wait)
    except TimeoutError:
        raise SavedElsewhere(dict(busy)) from None
    try:
        async with connection.transaction():
            left = deadline - loop.time()
            if left <= 0:
                raise SavedElsewhere(dict(busy))
            # lock_timeout bounds the wait for the advisory lock itself, to what is left of the wait once the
            # connection was had (in whole milliseconds, at least one: 0 is none)
            await connection.execute("SELECT set_config('lock_timeout', $1, true)", f"{max(1, round(left * 1000))}ms")
            try:
                await connection.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key, timeout=left + LOCK_MARGIN_SECONDS
                )
            except asyncpg.exceptions.LockNotAvailableError:
                raise SavedElsewhere(dict(busy)) from None
            yield
    finally:
        await state.form_locks.release(connection)
