"""FastStream subscribers of the evaluation service: facts on `evaluation.facts` (each delivery straight to on_fact,
with the app's context from its Door), RPC on `evaluation.rpc`."""

from typing import Annotated, Any

from faststream import AckPolicy, Context
from faststream.rabbit import RabbitRouter
from faststream.rabbit.message import RabbitMessage

from services.evaluation.context import EvaluationContext
from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.handlers.coalesced import defer_touched
from services.evaluation.handlers.facts import FACT_BATCH_HANDLERS, batch_order
from services.evaluation.reading import READING_MODELS
from services.evaluation.rpc import rpc_methods
from shared.consuming import Door, consume_event, delivery_is_batch
from shared.context import ServiceContext, door_subscriber
from shared.logs import get_logger
from shared.outbox import fetch_part
from shared.rpc import RpcRequest, answer
from shared.topology import EVALUATION_FACTS, RpcQueue

log = get_logger(__name__)
BULK_BODY_BYTES = 64 * 1024
"""A batch this large (about a hundred facts) is bulk work: the scoring worker lets more such batches fold into a
round; a small batch (the relay joining a few singles) keeps the single-event latency bound."""
RPC_QUEUE = RpcQueue("evaluation")
FACT_TYPES = frozenset(EVALUATION_FACTS.routing_keys)
"""The types bound to `evaluation.facts`: messages of them a relay fetch announced make a round wait for them."""


def build_router(door: Door[EvaluationContext]) -> RabbitRouter:
    """The evaluation subscribers of one app: facts through `door`, RPC with FastStream's context."""
    router = RabbitRouter()

    door_subscriber(
        router,
        EVALUATION_FACTS,
        door,
        on_fact,
        log=log,
        unsettled="fact_delivery_unsettled",
        title="evaluation.facts",
        description="Validated facts republished by meetings, one or a batch a message; each updates the projection "
        "and notes the cells it touched, which the scoring worker scores (coalesced) once the facts commit.",
    )

    router.subscriber(
        RPC_QUEUE.rabbit_queue(),
        ack_policy=AckPolicy.ACK,
        title="evaluation.rpc",
        description="Requests from the gateway: scores, periods, roll-ups, frameworks, rescoring.",
    )(on_rpc)
    return router


async def on_fact(message: RabbitMessage, app: EvaluationContext) -> None:
    """Apply one fact, or each of a batch, exactly once (inbox); note what they touched for scoring; settle. The data
    read with evaluation's reading models (services.evaluation.reading)."""
    raw = message.raw_message
    body = bytes(raw.body)
    several = delivery_is_batch(raw)  # as consume_event will apply it: binary mode (headers) is one event
    bulk = several and len(body) >= BULK_BODY_BYTES
    part = fetch_part(raw.headers, raw.type, FACT_TYPES)  # the rest of the relay's fetch: no scoring round between
    with app.facts_activity.delivery(batch=bulk, part=part, several=several):
        await consume_event(
            message,
            consumer=EVALUATION_FACTS.name,
            handlers=FACT_HANDLERS,
            batch_handlers=FACT_BATCH_HANDLERS,
            uow_factory=app.uow_factory,
            finish=defer_touched,
            order=batch_order,
            delivery_limit=EVALUATION_FACTS.delivery_limit,
            models=READING_MODELS,
            publishers=app.publishers,
        )


async def on_rpc(
    request: RpcRequest,
    message: Annotated[RabbitMessage, Context("message")],
    app: Annotated[EvaluationContext, ServiceContext("evaluation")],
) -> dict[str, Any]:
    """Answer one request of the evaluation.rpc catalog, from the allowed callers only (CHIBO_RPC_CALLERS)."""
    caller = message.raw_message.user_id
    return await answer(request, rpc_methods(app), caller=caller, allowed_callers=app.settings.rpc_callers)
