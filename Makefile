# Two commands on a fresh machine: `make demo` and `make test`. Both install what they need first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: all deps demo test test-unit lint format clean

all: lint test

deps:
	@bash scripts/bootstrap.sh

demo: deps
	@bash scripts/demo.sh

test: deps
	$(PY) -m pytest

test-unit: deps
	$(PY) -m pytest -m "not integration"

lint: deps
	$(VENV)/bin/ruff check smsworker tests
	$(VENV)/bin/ruff format --check smsworker tests
	$(VENV)/bin/mypy

format: deps
	$(VENV)/bin/ruff format smsworker tests
	$(VENV)/bin/ruff check --fix smsworker tests

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
