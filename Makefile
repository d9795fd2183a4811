# The two commands of the README: `make up` runs the whole system, `make test` runs every test.
.PHONY: up down test lint bench status logs

up:
	@deploy/up.sh

down:
	@deploy/down.sh

status:
	@deploy/status.sh

test:
	@deploy/bootstrap.sh
	@deploy/infra.sh
	uv run pytest $(PYTEST_ARGS)

lint:
	uv run ruff check .
	uv run ruff format --check .
	uv run mypy shared services tests deploy

bench:
	@deploy/bootstrap.sh
	@deploy/infra.sh
	uv run python -m tests.benchmarks $(BENCH_ARGS)
