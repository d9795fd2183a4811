"""FastStream subscribers of the evaluation service: facts on `evaluation.facts`, RPC on `evaluation.rpc`."""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from faststream import AckPolicy, Context
from faststream.rabbit import RabbitRouter
from faststream.rabbit.annotations import RabbitMessage

from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.consuming import consume_event
from shared.rpc import RpcMethod, RpcRequest, answer
from shared.topology import EVALUATION_FACTS, RpcQueue

router = RabbitRouter()
RPC_QUEUE = RpcQueue("evaluation")


@router.subscriber(
    EVALUATION_FACTS.rabbit_queue(),
    EVALUATION_FACTS.rabbit_exchange(),
    ack_policy=AckPolicy.MANUAL,
    title="evaluation.facts",
    description="Validated facts republished by meetings; each one updates the projection and rescores.",
)
async def on_fact(
    message: RabbitMessage,
    uow_factory: Annotated[Callable[[], EvaluationUnitOfWork], Context("evaluation_uow_factory")],
) -> None:
    """Apply one fact exactly once (inbox) and settle the delivery explicitly."""
    await consume_event(message, consumer=EVALUATION_FACTS.name, handlers=FACT_HANDLERS, uow_factory=uow_factory)


@router.subscriber(
    RPC_QUEUE.rabbit_queue(),
    ack_policy=AckPolicy.ACK,
    title="evaluation.rpc",
    description="Requests from the gateway: scores, periods, roll-ups, frameworks, rescoring.",
)
async def on_rpc(
    request: RpcRequest, methods: Annotated[Mapping[str, RpcMethod], Context("evaluation_rpc")]
) -> dict[str, Any]:
    """Answer one request of the evaluation.rpc catalog."""
    return await answer(request, methods)
