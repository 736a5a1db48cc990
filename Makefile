# starlab: the two commands are `make demo` and `make test`; both set up what is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
STARLAB := $(VENV)/bin/starlab
UV      := python3 -m uv
PYTEST_ARGS ?=

.PHONY: help setup up down status demo test test-unit lint bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --quiet
	touch $@

setup: $(VENV)/.synced ## install the Python environment (locked); the stack installs the rest on `up`

up: setup ## start the local stack (Kafka, schema registry, Redis, Flink runtime, Airflow home)
	$(STARLAB) up

down: ## stop the local stack, leaving no process behind
	@if [ -x $(STARLAB) ]; then $(STARLAB) down; fi

status: setup ## show each component, its address and health
	$(STARLAB) status

demo: up ## run every story end to end and write reports/latest/evidence.{json,md,html}
	$(STARLAB) demo all
	@echo "The stack is still running for exploration; 'make down' stops it."

test: lint up ## lint, then unit and integration tests on the real stack, then stop it
	@rc=0; $(PY) -m pytest tests $(PYTEST_ARGS) || rc=$$?; \
	  $(STARLAB) down; exit $$rc

test-unit: setup ## unit tests only (no process started)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: setup ## ruff, mypy on every package, and the import rules (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

bench: up ## benchmarks that print measured figures and ratios (streaming, rankings)
	$(STARLAB) stream bench
	$(STARLAB) rankings bench

clean: down ## remove runtime state, generated data and reports
	rm -rf .starlab data reports
