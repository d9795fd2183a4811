"""A rejection of a whole body that holds no event to judge (unreadable, a batch that does not read, one cut at the
gateway's limit) records the sources rule its events would have been judged by: sent without a sources list, the
registry's (sources_listed false), as every other rejection of such a sending is. Real PostgreSQL, meetings'
ingest_body as the gateway calls it."""

import base64
from typing import Any

import pytest

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from shared.envelope import BATCH_CONTENT_TYPE
from tests.support.ids import random_id


@pytest.mark.parametrize("how", ["structured", "batch", "cut"])
async def test_a_body_rejection_without_a_list_records_the_registrys_rule(meetings_pool: Any, how: str) -> None:
    """The body, sent with no sources list, is refused whole; its one rejection says it was judged by the registry."""
    app = meetings_context(Settings(), meetings_pool)
    marker = random_id("unreadable")
    body = f"not json {marker} at all".encode()
    content_type = BATCH_CONTENT_TYPE if how == "batch" else "application/cloudevents+json"
    request = contract.IngestBody(
        body_base64=base64.b64encode(body).decode(),
        content_type=content_type,
        over_limit=len(body) - 1 if how == "cut" else None,
    )
    [result] = (await meetings_rpc.ingest_body(request, app))["results"]
    assert result["outcome"] == "rejected", result
    async with meetings_pool.acquire() as conn:
        rows = await conn.fetch("SELECT sources_listed FROM rejection WHERE strpos(raw, $1) > 0", marker)
    assert [row["sources_listed"] for row in rows] == [False]
