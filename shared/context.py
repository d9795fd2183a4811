"""Where chibo builds on FastStream outside its public API: a subscriber's typed service context, and the light
per-delivery path of a subscriber whose handler settles each delivery itself (meetings.ingest, evaluation.facts,
notifications.events).

The runtime puts one object per service into FastStream's context under the service's name; a
subscriber declares `app: Annotated[MeetingsContext, ServiceContext("meetings")]`. It builds on
`faststream._internal.context.Context`: fast_depends runs a custom field's synchronous `use` in a
worker thread, one hop per parameter and message, and at the month-start spike those hops and their
wake-ups cost the single busy event loop more than the lookup itself, so the lookup is declared
async here.

`light_delivery` replaces a Rabbit subscriber's per-delivery callback (issue 12): it reads the subscriber's
`consume` (which its start() hands aio-pika), `running`, `lock`, `_outer_config.context` and
`_broker_middlewares`, and makes the message as FastStream's Rabbit parser does.

This is the one module that reaches those parts; if FastStream changes them, only this module needs to follow.
"""

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream import AckPolicy
from faststream._internal.context import Context as _ContextField
from faststream.rabbit import RabbitRouter
from faststream.rabbit.message import RabbitMessage
from faststream.rabbit.schemas import Channel

from shared.consuming import Door, delivery_identity, hand_over_message
from shared.telemetry import BrokerInstrumentation, tracing_recorded
from shared.topology import ConsumerQueue

AppT = TypeVar("AppT")


class ServiceContext(_ContextField):
    """A FastStream Context field resolved on the event loop (no worker-thread hop per message)."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Resolve the context value without leaving the event loop."""
        return super().use(**kwargs)


def door_subscriber(
    router: RabbitRouter,
    queue: ConsumerQueue,
    door: Door[AppT],
    handler: Callable[[Any, AppT], Awaitable[None]],
    *,
    log: Any,
    unsettled: str,
    title: str,
    description: str,
    channel: Channel | None = None,
) -> Any:
    """A manually acked subscriber of `router` on `queue` (its exchange and bindings) whose every delivery goes to
    `handler(message, door.context())`, which settles it: on the light path (light_delivery, failures logged as the
    event `unsettled`), or FastStream's own when a recording tracer is set. The subscriber, for tests to inspect."""
    options: dict[str, Any] = {} if channel is None else {"channel": channel}
    subscriber = router.subscriber(
        queue.rabbit_queue(),
        queue.rabbit_exchange(),
        ack_policy=AckPolicy.MANUAL,
        decoder=hand_over_message,
        # FastStream's own path (a recording tracer) would publish the handler's None to any reply_to a publisher
        # names, a queue of its choosing too: a door's handler answers itself when it answers (shared.replies)
        no_reply=True,
        title=title,
        description=description,
        **options,
    )

    async def settle(message: Any) -> None:
        await handler(message, door.context())

    subscriber(settle)
    light_delivery(subscriber, settle, log=log, unsettled=unsettled)
    return subscriber


def light_delivery(
    subscriber: Any, handler: Callable[[RabbitMessage], Awaitable[object]], *, log: Any, unsettled: str
) -> None:
    """Make a Rabbit `subscriber`, before it starts, hand each delivery straight to `handler` (one RabbitMessage,
    which the handler settles itself) without FastStream's per-message path (issue 12): its context scopes, logging
    and acknowledgement middlewares, handler lookup and dependency injection were about a fifth of meetings' busy
    samples in the single preset (one event per message). It keeps what that path gives such a handler: the
    subscriber's lock (a graceful stop waits for the deliveries under way), the broker's instrumentation
    (shared.telemetry: the carried trace context and the chibo_received_* metrics), the message FastStream's
    parser makes (the same RabbitMessage, acked and rejected as before) and a logged failure (what escapes
    `handler` is logged on `log` as the event `unsettled` with the delivery's identity, never raised). With a
    recording tracer provider every delivery takes FastStream's own path (its telemetry middleware's spans).
    RuntimeError when the subscriber already runs (its start() has read its callback)."""
    if subscriber.running:
        raise RuntimeError("light_delivery must be set up before the subscriber starts")
    original = subscriber.consume

    async def consume(raw: Any) -> None:
        if not subscriber.running:
            return
        if tracing_recorded():
            await original(raw)
            return
        with subscriber.lock:
            message = RabbitMessage(
                body=raw.body,
                headers=raw.headers,
                reply_to=raw.reply_to or "",
                content_type=raw.content_type,
                message_id=raw.message_id or "",
                correlation_id=raw.correlation_id or "",
                raw_message=raw,
            )
            context = subscriber._outer_config.context
            try:
                for middleware in subscriber._broker_middlewares:
                    if isinstance(middleware, BrokerInstrumentation):
                        # tracing is off (asked above): the scope need not ask again, per delivery
                        await middleware(message, context=context, traced=False).consume_scope(handler, message)
                        break
                else:
                    await handler(message)
            except Exception as exc:  # the handler settles every delivery; what escapes it (a failed ack) is logged
                log.exception(unsettled, error=repr(exc), **delivery_identity(raw))

    subscriber.consume = consume
