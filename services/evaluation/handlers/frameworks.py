"""Use cases about frameworks: register the shipped ones, adopt one for a subtree or by default."""

from datetime import date
from pathlib import Path
from typing import Any

from services.evaluation.domain.framework import Framework, load_framework_file, parse_framework
from services.evaluation.handlers.scores import SOURCE, ScoringUnitOfWork
from shared.contracts.frameworks import FRAMEWORK_ADOPTED, FRAMEWORKS_DIR, FrameworkAdopted, FrameworkItem
from shared.envelope import new_event
from shared.logs import get_logger

log = get_logger(__name__)


class FrameworkConflict(Exception):
    """A different document already stored under the same (id, version)."""


def shipped_frameworks(directory: Path = FRAMEWORKS_DIR) -> list[Framework]:
    """The framework files shipped with the service, validated (a bad file stops the start)."""
    return [load_framework_file(path) for path in sorted(directory.glob("*.json"))]


async def store_framework(uow: ScoringUnitOfWork, framework: Framework) -> None:
    """Store a framework under (id, version); a different document there is a conflict."""
    document = framework.model_dump(mode="json")
    existing = await uow.frameworks.document(framework.id, framework.version)
    if existing is not None and parse_framework(existing) != framework:
        raise FrameworkConflict(
            f"framework {framework.id} version {framework.version} is already stored with other content;"
            " publish a correction as a new version"
        )
    await uow.frameworks.store(framework_id=framework.id, version=framework.version, document=document)
    uow.framework_cache[(framework.id, framework.version)] = framework


async def put_in_force(
    uow: ScoringUnitOfWork, framework: Framework, *, committee_id: str | None, effective_from: date
) -> None:
    """Adopt a stored framework (by default or for a committee's subtree) from a date; a new adoption is
    published as the internal `framework.adopted.v1` (outbox, same transaction), so meetings learns its items."""
    sequence = await uow.frameworks.adopt(
        committee_id=committee_id,
        framework_id=framework.id,
        version=framework.version,
        effective_from=effective_from,
    )
    if sequence is None:
        return  # that very adoption was made (and published) before
    adopted = FrameworkAdopted(
        framework_id=framework.id,
        version=framework.version,
        committee_id=committee_id,
        effective_from=effective_from,
        sequence=sequence,
        items=[
            FrameworkItem(code=item.code, max=item.max, manual=item.manual, applies_to=list(item.applies_to))
            for item in framework.items
        ],
    )
    uow.emit(
        new_event(type=FRAMEWORK_ADOPTED, source=SOURCE, data=adopted, subject=f"{framework.id}@{framework.version}")
    )


async def register_shipped(uow: ScoringUnitOfWork, frameworks: list[Framework]) -> None:
    """Store the shipped frameworks and put each in force by default from its effective date."""
    for framework in frameworks:
        await store_framework(uow, framework)
        await put_in_force(uow, framework, committee_id=None, effective_from=framework.effective_from)
    log.info("frameworks_registered", frameworks=[f"{f.id}@{f.version}" for f in frameworks])


async def adopt_framework(uow: ScoringUnitOfWork, *, document: Any, committee_id: str | None) -> dict[str, Any]:
    """Validate and store a framework; in force for the committee's subtree (or by default) from its date."""
    framework = parse_framework(document)
    await store_framework(uow, framework)
    await put_in_force(uow, framework, committee_id=committee_id, effective_from=framework.effective_from)
    log.info("framework_adopted", framework_id=framework.id, version=framework.version, committee_id=committee_id)
    return {**framework.model_dump(mode="json"), "adopted_by": committee_id}
