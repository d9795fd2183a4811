"""How many stored rejections meetings holds, by status: the one breakdown GET /v1/rejections, the operator's page
and `python -m shared.ops rejections list` give, so their figures reconcile (open + replayed + dismissed = all)."""

from typing import Any

import asyncpg

from shared.contracts.meetings_rpc import ANSWERED_ON_FORM

COUNTS_SQL = (
    "SELECT count(*) AS total, count(*) FILTER (WHERE status = 'open') AS open,"
    " count(*) FILTER (WHERE status = 'replayed') AS replayed,"
    " count(*) FILTER (WHERE status = 'dismissed') AS dismissed,"
    " count(*) FILTER (WHERE status = 'dismissed' AND dismissal_reason = $2) AS answered_on_form"
    " FROM rejection WHERE ($1::text IS NULL OR type = $1)"
)
"""The breakdown's query over meetings' `rejection` table (search_path meetings), $1 an event type or NULL (all)."""


async def rejection_counts(conn: asyncpg.Connection, *, type: str | None = None) -> dict[str, Any]:
    """Rejections of every status (of the event type `type`, None: all): `total`, `open` (waiting for an operator),
    `replayed`, `dismissed` (closed unreplayed) and `answered_on_form`, the dismissed ones that were a person's
    refused command answered on its form (ANSWERED_ON_FORM, never open); total = open + replayed + dismissed."""
    row = await conn.fetchrow(COUNTS_SQL, type, ANSWERED_ON_FORM)
    return dict(row)
