# Two commands do everything: `make run` (the whole stack with a demo Trust) and `make test`.
# Each creates or refreshes the virtual environment it needs, from pinned versions.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
CONSTRAINTS := requirements/constraints.txt
# The browser tests drive Debian's chromium (Playwright downloads none): `make test` installs it when missing.
CHROMIUM := $(or $(TIDEMARK_CHROMIUM),/usr/bin/chromium)
# axe-core, the accessibility checker the browser tests run on every page: from npm, into the venv, once.
AXE_CORE_VERSION := 4.14.1
AXE_CORE := $(VENV)/node/axe-core-$(AXE_CORE_VERSION).installed
PROJECTS := $(wildcard libs/*/pyproject.toml services/*/pyproject.toml tools/pyproject.toml)

.PHONY: run test chromium axe-core bench bench-import bench-analytics bench-attendance bench-attendance-api bench-gateway bench-recovery clean reset venv

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

# A file target: nothing runs when the browser is there. Otherwise apt-get installs Debian's package
# (as root, or through a sudo that asks no password); anything else stops `make test` here, loudly.
$(CHROMIUM):
	@if [ "$@" != /usr/bin/chromium ]; then \
		echo "TIDEMARK_CHROMIUM=$@: no browser there." >&2; exit 1; fi
	@if [ "$$(id -u)" = 0 ]; then as_root=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo -n"; \
	else echo "The browser tests need Debian's chromium at /usr/bin/chromium, and installing it needs root:" \
		"run 'apt-get update && apt-get install -y --no-install-recommends chromium' as root" \
		"(or set TIDEMARK_CHROMIUM to a chromium)." >&2; exit 1; fi; \
	echo "Installing Debian's chromium for the browser tests (apt-get) ..."; \
	$$as_root apt-get update && $$as_root apt-get install -y --no-install-recommends chromium \
		|| { echo "apt-get could not install chromium: the browser tests cannot run." >&2; exit 1; }
	@test -x $@ || { echo "apt-get installed chromium, but there is no $@." >&2; exit 1; }

chromium: $(CHROMIUM)

# A file target (one stamp per version): npm installs axe-core into $(VENV)/node, where the browser
# tests read node_modules/axe-core/axe.min.js. No npm means no accessibility check: stop, loudly.
$(AXE_CORE): $(BIN)/python
	@command -v npm >/dev/null 2>&1 || { echo "The browser tests need axe-core from npm, and there is no npm:" \
		"install Node.js and npm (Debian: 'apt-get install -y npm')." >&2; exit 1; }
	npm install --prefix $(VENV)/node --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
		axe-core@$(AXE_CORE_VERSION)
	@test -f $(VENV)/node/node_modules/axe-core/axe.min.js || { echo "npm installed no axe-core." >&2; exit 1; }
	@touch $@

axe-core: $(AXE_CORE)

## Start brokers, Redis, the four services and load the demo Trust; Ctrl-C stops everything.
run: $(VENV)/.runtime-installed
	$(BIN)/tidemark-stack run

## Run every test: unit tests and end-to-end tests on the real embedded broker and Redis.
test: $(VENV)/.test-installed $(CHROMIUM) $(AXE_CORE)
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

## Benchmark bulk import (self-contained): rows per second from upload to stored and to visible on the dashboard, 300,000 rows.
bench-import: $(VENV)/.test-installed
	$(BIN)/python bench/imports.py $(ARGS)

## Benchmark recovery: the demo Trust's figures exact again after a broker loss and a Redis loss (self-contained).
bench-recovery: $(VENV)/.test-installed
	$(BIN)/python bench/recovery.py

## Benchmark one gateway process (self-contained): 50 readers of one view and of different views, 500 live
## pages while locks land. Options: ARGS='--seconds 5' or ARGS='--gateway-checkout /tmp/gw-before' (see the script).
bench-gateway: $(VENV)/.runtime-installed
	$(BIN)/python bench/gateway.py $(ARGS)
## Register marks ingested per second over HTTP, and attendance report p50/p99 with filters at 100 schools.
bench-attendance-api: $(VENV)/.runtime-installed
	$(BIN)/python bench/attendance_api.py

## Delete the stored data of `make run` (.tidemark: PostgreSQL, valkey, logs); the next run starts clean.
reset:
	rm -rf .tidemark

clean: reset
	rm -rf $(VENV) .pytest_cache
