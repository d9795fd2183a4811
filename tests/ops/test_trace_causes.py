"""A group commit judges many deliveries in one transaction: what each causes carries its own delivery's trace."""

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from shared.telemetry import current_trace_context, trace_context_for, traces_by_cause

ONE = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
TWO = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}


def test_an_event_caused_by_a_grouped_delivery_carries_that_deliverys_trace() -> None:
    with traces_by_cause({"evt-1": ONE, "evt-2": TWO}):
        assert trace_context_for("evt-1") == ONE
        assert trace_context_for("evt-2") == TWO
        assert trace_context_for("evt-other") == current_trace_context()  # no cause known: the active span's
        assert trace_context_for(None) == current_trace_context()
    assert trace_context_for("evt-1") == current_trace_context()  # outside the block the causes are forgotten


def test_without_causes_the_active_span_is_carried() -> None:
    tracer = TracerProvider().get_tracer(__name__)
    with tracer.start_as_current_span("delivery") as span, traces_by_cause({"evt-1": ONE}):
        context = trace_context_for("evt-9")
        assert context is not None
        assert context["traceparent"].split("-")[1] == format(span.get_span_context().trace_id, "032x")
    assert trace.get_current_span() is not span
