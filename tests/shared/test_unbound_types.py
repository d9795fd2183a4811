"""What lands in chibo.unrouted by design (trial: 66 messages there, no consumer, told to no operator): the types
published on chibo.events that no consumer queue of ours binds, wildcards honoured as RabbitMQ's topic exchange
does."""

from shared.contracts.registry import REGISTRY
from shared.topology import CONSUMER_QUEUES, EVENTS_EXCHANGE, INGEST_EXCHANGE, ConsumerQueue, unbound_types


def queue(name: str, exchange: str, *keys: str) -> ConsumerQueue:
    return ConsumerQueue(service="probe", consumer=name, exchange=exchange, routing_keys=list(keys))


def test_the_types_no_consumer_queue_binds_on_chibo_events_are_what_chibo_unrouted_keeps() -> None:
    assert unbound_types() == [
        "ingest.rejected.v1",
        "ingest.warned.v1",
        "notification.delivered.v1",
        "notification.failed.v1",
    ]
    bound = {key for spec in CONSUMER_QUEUES if spec.exchange == EVENTS_EXCHANGE for key in spec.routing_keys}
    assert set(unbound_types()) == set(REGISTRY) - bound


def test_a_wildcard_binding_counts_and_a_binding_on_chibo_ingest_does_not() -> None:
    everything = set(REGISTRY)
    assert unbound_types([queue("all", EVENTS_EXCHANGE, "#")]) == []
    assert unbound_types([queue("ingest", INGEST_EXCHANGE, "#")]) == sorted(everything)  # another exchange
    notifications = unbound_types([queue("n", EVENTS_EXCHANGE, "notification.*.v1")])
    assert "notification.delivered.v1" not in notifications and "ingest.rejected.v1" in notifications
    assert unbound_types([queue("n", EVENTS_EXCHANGE, "notification.#")]) == sorted(
        t for t in everything if not t.startswith("notification.")
    )
    assert "ingest.rejected.v1" in unbound_types([queue("n", EVENTS_EXCHANGE, "*.v1")])  # * is one word
