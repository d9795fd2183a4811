"""A score's coded reasons in PostgreSQL: every branch's parts read back as they were stored, so the web gets them
whole and an unchanged meeting is not rewritten at each scoring."""

import json
from dataclasses import replace
from datetime import UTC, datetime

from services.evaluation.domain.scoring import part_json
from services.evaluation.repository.results import PgResultRepository, ScoreRow
from shared.reasons import ReasonPart
from tests.evaluation.builders import START
from tests.evaluation.private_db import private_pool
from tests.evaluation.reason_cases import all_scores
from tests.support.ids import random_id


async def test_every_reason_part_reads_back_from_the_stored_row_as_scoring_stores_it(database_url: str) -> None:
    scores = {random_id("mtg"): score for score in all_scores().values()}
    rows = [
        ScoreRow(
            result=replace(score, meeting_id=meeting_id),
            kind="regular",
            starts_at=START,
            held=True,
            present=0,
            counted=0,
            speakers_present=0,
        )
        for meeting_id, score in scores.items()
    ]
    async with private_pool(database_url) as pool, pool.acquire() as conn:
        results = PgResultRepository(conn)
        await results.save_scores(rows)
        stored = (await results.scoring_inputs(list(scores))).stored
    for meeting_id, score in scores.items():
        lines = stored[meeting_id]["criteria"]
        # the comparison scoring makes before rewriting a row (handlers.scores._store_score)
        assert lines == [line.stored_dict() for line in score.criteria]
        for line, original in zip(lines, score.criteria, strict=True):
            assert tuple(ReasonPart.model_validate(part) for part in line["parts"]) == original.parts


def test_every_reason_part_is_stored_as_pydantic_dumps_it() -> None:
    """part_json is pydantic's JSON dump of a part without its per-field calls: the same dict, keys in the same
    order, a time in UTC written with `Z`, a code this reader does not know kept as text."""
    parts = [part for score in all_scores().values() for line in score.criteria for part in line.parts]
    parts += [
        ReasonPart(code="notified", notified_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ReasonPart(code="a_code_of_a_newer_writer", kinds=("content", "minutes"), rate=0.5, strict=False),
    ]
    for part in parts:
        dumped = part.model_dump(mode="json", exclude_none=True)
        assert part_json(part) == dumped
        assert list(part_json(part)) == list(dumped)
        assert json.dumps(part_json(part)) == json.dumps(dumped)
