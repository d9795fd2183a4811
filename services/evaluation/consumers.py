"""FastStream subscribers of the evaluation service: facts on `evaluation.facts`, RPC on `evaluation.rpc`."""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from faststream import AckPolicy, Context
from faststream._internal.context import Context as ContextField
from faststream.rabbit import RabbitRouter
from faststream.rabbit.message import RabbitMessage

from services.evaluation.handlers import FACT_HANDLERS
from services.evaluation.unit_of_work import EvaluationUnitOfWork
from shared.consuming import consume_event
from shared.rpc import RpcMethod, RpcRequest, answer
from shared.topology import EVALUATION_FACTS, RpcQueue

router = RabbitRouter()
RPC_QUEUE = RpcQueue("evaluation")


class InlineContext(ContextField):
    """A FastStream Context resolved on the event loop.

    fast_depends runs a custom field's synchronous `use` in a worker thread, one hop per
    parameter and message; at the month-start spike those hops and their wake-ups cost the
    single busy event loop more than the lookup itself, so the lookup is declared async.
    """

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Resolve the context value without leaving the event loop."""
        return super().use(**kwargs)


@router.subscriber(
    EVALUATION_FACTS.rabbit_queue(),
    EVALUATION_FACTS.rabbit_exchange(),
    ack_policy=AckPolicy.MANUAL,
    title="evaluation.facts",
    description="Validated facts republished by meetings; each one updates the projection and rescores.",
)
async def on_fact(
    message: Annotated[RabbitMessage, InlineContext("message")],
    uow_factory: Annotated[Callable[[], EvaluationUnitOfWork], InlineContext("evaluation_uow_factory")],
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
