# Two commands do everything: `make run` (the whole stack with a demo Trust) and `make test`.
# Each creates or refreshes the virtual environment it needs, from pinned versions.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := requirements/constraints.txt
PROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/pyproject.toml)

.PHONY: run test bench bench-analytics bench-attendance bench-attendance-api clean reset venv

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tidemark needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: $(BIN)/python requirements/runtime.txt $(CONSTRAINTS) $(PROJECTS)
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -r requirements/runtime.txt
	@touch $@

$(VENV)/.bench-installed: $(VENV)/.runtime-installed requirements/bench.txt
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -r requirements/bench.txt
	@touch $@

$(VENV)/.test-installed: $(VENV)/.runtime-installed requirements/test.txt
	$(PIP) install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -r requirements/test.txt
	@touch $@

venv: $(VENV)/.test-installed

## Start brokers, Redis, the four services and load the demo Trust; Ctrl-C stops everything.
run: $(VENV)/.runtime-installed
	$(BIN)/tidemark-stack run

## Run every test: unit tests and end-to-end tests on the real embedded broker and Redis.
test: $(VENV)/.test-installed
	$(BIN)/python -m pytest

## Benchmark against a running stack (start `make run` first, in another terminal).
bench: $(VENV)/.runtime-installed
	$(BIN)/python bench/benchmark.py

## Benchmark the analytics core at Trust scale (self-contained; 100 schools x 420 pupils x 18 periods).
bench-analytics: $(VENV)/.bench-installed
	$(BIN)/python bench/analytics.py

## Benchmark the attendance projection: a Trust's year of register marks (~1.5 million) through one process.
bench-attendance: $(VENV)/.runtime-installed
	$(BIN)/python bench/attendance.py

## Register marks ingested per second over HTTP, and attendance report p50/p99 with filters at 100 schools.
bench-attendance-api: $(VENV)/.runtime-installed
	$(BIN)/python bench/attendance_api.py

## Delete the stored data of `make run` (.tidemark: PostgreSQL, valkey, logs); the next run starts clean.
reset:
	rm -rf .tidemark

clean: reset
	rm -rf $(VENV) .pytest_cache
