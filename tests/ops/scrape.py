"""Reading a Prometheus text exposition in tests: the sum of the samples matching a name and labels."""

from prometheus_client.parser import text_string_to_metric_families


def sample_sum(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` whose labels include `labels` (0 when none match)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(key) == value for key, value in labels.items()):
                total += sample.value
    return total


def names(text: str) -> set[str]:
    """Every sample name in the exposition."""
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
