"""The fault suite of issue 10: `make chaos` (and its short form in CI)."""
