# The two commands of the README: `make up` runs the whole system, `make test` runs every test.
.PHONY: up down test lint bench status logs chaos

up:
	@deploy/up.sh

down:
	@deploy/down.sh

# GNU make exits 2 for any failed recipe whatever its code: the line says the script's own (1 degraded, 2 down);
# scripts that act on it call deploy/status.sh itself (docs/operations.md "`make status` on one machine").
status:
	@deploy/status.sh || { code=$$?; case $$code in 1) what=degraded;; 2) what=down;; *) what=failed;; esac; \
		echo "deploy/status.sh exited $$code ($$what); make exits 2 for any failure: run deploy/status.sh for its own code" >&2; \
		exit $$code; }

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

# The fault suite of issue 10: the same backfill quietly and under faults (kill -9 each service, a private
# RabbitMQ node's app restarted, PostgreSQL connections cut, bad inputs); the default is the long form (at least 100,000
# events); CHAOS_ARGS="--cells 12 --single-every 3" is the short form CI runs.
chaos:
	@deploy/bootstrap.sh
	@deploy/infra.sh
	uv run python -m tests.chaos $(CHAOS_ARGS)
