# tap-centaur developer commands. Needs only Python 3.10+, make and git: every target creates
# the virtualenvs it needs and remembers it with a stamp file, so a second run is fast.
#
#   make demo    simulator -> meltano run tap-centaur target-jsonl -> records per task
#   make test    the unit and integration tests (tests/, without the e2e ones), in parallel
#   make e2e     Meltano -> PostgreSQL end-to-end tests (tests/e2e/): Dagster running the
#                Meltano jobs (orchestrate/), the dbt models (transform/), the Hub definition
#                against Meltano's schema; starts a throwaway PostgreSQL unless
#                TARGET_POSTGRES_HOST is set (needs the server binaries)
#   make lint    ruff check, ruff format --check, mypy
#   make build   sdist + wheel in dist/, installed in a fresh virtualenv, `tap-centaur --about`
#   make bench   the benchmark of docs/PERFORMANCE.md (~5 min); BENCH_ARGS="--quick" for a smoke run
#   make bench-smoke  the test of that smoke run (tests/test_bench_smoke.py, ~15 s; in .ci/run)
#   make venv    the development virtualenv .venv (`. .venv/bin/activate`)
#   make clean   remove virtualenvs, Meltano's .meltano/, output/, dist/ and caches

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
MELTANO_VERSION := 4.4.1

VENV := .venv
VENV_PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.stamp-dev
MELTANO_VENV := .meltano-venv
MELTANO := $(MELTANO_VENV)/bin/meltano
MELTANO_STAMP := $(MELTANO_VENV)/.stamp-meltano-$(MELTANO_VERSION)
# Stamps of `meltano install` live inside .meltano/ so that deleting it re-installs.
DEMO_PLUGINS_STAMP := .meltano/.stamp-demo-plugins
E2E_PLUGINS_STAMP := .meltano/.stamp-e2e-plugins
PIP_QUIET := --quiet --disable-pip-version-check
# pytest-xdist workers of `make test`: two more than the 2 cores of the development machine,
# since many tests wait on the simulator's latency, retries and timeouts (with 3, the cores
# were idle 18% of the run; TEST_WORKERS=0: one process).
TEST_WORKERS ?= 4

# The simulator's demo credentials (not secrets: they only open the local simulator).
DEMO_ENV := TAP_CENTAUR_API_KEY=demo-api-key TAP_CENTAUR_USERNAME=demo@example.com \
	TAP_CENTAUR_API_PASSWORD=demo-api-password

export MELTANO_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help venv demo test e2e lint build bench bench-smoke clean check-python

help:
	@sed -n 's/^#   make /  make /p' $(MAKEFILE_LIST)

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { \
		echo "tap-centaur needs Python 3.10+; '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." \
		"Run e.g. 'make $(MAKECMDGOALS) PYTHON=python3.12'." >&2; exit 1; }

# --- virtualenvs --------------------------------------------------------------------------

venv: $(VENV_STAMP)

$(VENV_STAMP): pyproject.toml | check-python
	$(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install $(PIP_QUIET) --upgrade pip
	$(VENV_PY) -m pip install $(PIP_QUIET) -e ".[dev,e2e]"
	@touch $@

$(MELTANO_STAMP): | check-python
	$(PYTHON) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(MELTANO_VENV)/bin/python -m pip install $(PIP_QUIET) "meltano==$(MELTANO_VERSION)"
	@rm -f $(MELTANO_VENV)/.stamp-meltano-*
	@touch $@

$(DEMO_PLUGINS_STAMP): $(MELTANO_STAMP) meltano.yml pyproject.toml
	$(MELTANO) install tap-centaur target-jsonl
	@touch $@

$(E2E_PLUGINS_STAMP): $(MELTANO_STAMP) meltano.yml pyproject.toml
	$(MELTANO) install
	@touch $@ $(DEMO_PLUGINS_STAMP)

# --- the README's commands ----------------------------------------------------------------

demo: $(DEMO_PLUGINS_STAMP)
	@$(DEMO_ENV) $(MELTANO_VENV)/bin/python scripts/demo.py --meltano $(MELTANO)

# Tests are handed out one at a time (`--maxschedchunk 1`), so the few long ones that
# tests/conftest.py puts first start on different workers (`worksteal` gave them all to one).
# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: each worker and each tap
# subprocess would compile the tests and the tap again (pytest's assertion rewriting
# alone takes ~1 s a worker; 122 -> 106 s of CPU for the whole run).
test: export PYTHONDONTWRITEBYTECODE :=
test: $(VENV_STAMP)
	$(VENV_PY) -m pytest -m "not e2e and not bench" --ignore=tests/e2e -n $(TEST_WORKERS) \
		--dist load --maxschedchunk 1 $(PYTEST_ARGS)

bench-smoke: $(VENV_STAMP)
	$(VENV_PY) -m pytest -m bench tests/test_bench_smoke.py $(PYTEST_ARGS)

bench: $(VENV_STAMP)
	$(VENV_PY) scripts/bench.py $(BENCH_ARGS)

e2e: $(VENV_STAMP) $(E2E_PLUGINS_STAMP)
	MELTANO_BIN=$(CURDIR)/$(MELTANO) PYTHON=$(VENV_PY) scripts/e2e.sh $(PYTEST_ARGS)

lint: $(VENV_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

build: $(VENV_STAMP)
	scripts/build.sh $(VENV_PY) $(PYTHON)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano output dist .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
