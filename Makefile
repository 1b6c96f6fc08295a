# Two commands on a fresh machine: `make demo` and `make test`. Each target installs what it needs first,
# and no more (scripts/bootstrap.sh <purpose>): the demo gets Redis and smsworker, not the test tools.
VENV ?= .venv
PY := $(VENV)/bin/python
BOOTSTRAP := VENV=$(VENV) bash scripts/bootstrap.sh

.PHONY: all deps demo example test test-fast test-unit lint format clean fuzz bench chaos

all: lint test

# Everything the tests, the linters, the fuzzer and the benchmarks use.
deps:
	@$(BOOTSTRAP) all

demo:
	@$(BOOTSTRAP) demo
	@VENV=$(VENV) bash scripts/demo.sh

# The PHP example page on http://127.0.0.1:8080 with a throwaway Redis and the log provider; Ctrl-C stops.
example:
	@$(BOOTSTRAP) example
	@VENV=$(VENV) bash scripts/example.sh

# Two test processes (one a core on the 2-core machines we aim at), each given whole files, so a
# file's servers and fixtures stay in one process; the tests' ports come from a block per process.
TEST_WORKERS ?= 2
test:
	@$(BOOTSTRAP) test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

# The developer's loop: no redis-server, no searching or waiting (about half a minute). CI runs `make test`.
test-fast:
	@$(BOOTSTRAP) test
	SMSWORKER_EXAMPLES=fast $(PY) -m pytest -n $(TEST_WORKERS) -m "not integration and not slow" -q

test-unit:
	@$(BOOTSTRAP) test
	$(PY) -m pytest -m "not integration"

lint:
	@$(BOOTSTRAP) lint
	$(VENV)/bin/ruff check smsworker tests fuzz bench
	$(VENV)/bin/ruff format --check smsworker tests fuzz bench
	$(VENV)/bin/mypy

# Bounded fuzzing of parser, dead letters and log lines (FUZZ_SECONDS, default 60) on a scratch copy of the corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	@corpus=$$(mktemp -d) && cp fuzz/corpus/* "$$corpus"/ && \
	$(PY) fuzz/fuzz_task.py -max_total_time=$(FUZZ_SECONDS) "$$corpus" ; status=$$? ; rm -rf "$$corpus" ; exit $$status

# Every benchmark scenario beside its same-run ceiling; results in bench/results/. BENCH_SCALE < 1 shrinks it.
BENCH_SCALE ?= 1.0
bench: deps
	$(PY) -m bench.run --scale $(BENCH_SCALE) --out bench/results

# Faults under load: SIGKILL, Redis restarts, provider outages and hangs, SIGTERM, a flooded queue.
CHAOS_SCALE ?= 1.0
chaos: deps
	$(PY) -m bench.chaos --scale $(CHAOS_SCALE) --out bench/results

format:
	@$(BOOTSTRAP) lint
	$(VENV)/bin/ruff format smsworker tests fuzz bench
	$(VENV)/bin/ruff check --fix smsworker tests fuzz bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
