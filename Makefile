.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
# The vendored Citus source, relative to the repository root (or absolute).
CITUS_SOURCE ?= ../shared/vendor/citus-*.tar.gz

.PHONY: help setup generate migrate check lint types fresh vet test test-unit test-faults test-citus bench bench-citus demo stop citus citus-stop clean

help: ## Show the targets and what they do
	@if [ -t 1 ]; then bold=$$'\033[1m'; plain=$$'\033[0m'; fi; \
	awk -v bold="$$bold" -v plain="$$plain" 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %s%-12s%s %s\n", bold, $$1, plain, $$2}' $(MAKEFILE_LIST)

$(VENV)/.installed: pyproject.toml codegen/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]' -e ./codegen
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install gamedb with its dev tools (idempotent)

generate: setup ## Regenerate gen/ from schema/ and queries/, checked against a real database
	$(PY) -m gamedb_codegen.pipeline generate

# The targets below that touch a database use the embedded server unless DATABASE_URL is set:
# an explicit choice made here, never a fallback of the library or the installed command.
EMBEDDED := GAMEDB_EMBEDDED=1

migrate: setup ## Apply pending migrations to DATABASE_URL (or the embedded server)
	$(EMBEDDED) $(BIN)/gamedb migrate

lint: setup ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: setup ## mypy --strict over every package, the tests, benchmarks and devtools
	$(BIN)/mypy gamedb gamedb_schema gamedb_demo gen codegen tests conftest.py benchmarks devtools

fresh: setup ## Regenerate gen/ and schema.sql and fail on any difference from git
	$(PY) -m gamedb_codegen.pipeline generate
	@changes=$$(git status --porcelain --untracked-files=all -- gen schema.sql); \
	if [ -n "$$changes" ]; then echo "gen/ or schema.sql is stale; run 'make generate' and commit:"; echo "$$changes"; exit 1; fi

vet: setup ## sqlc vet (rules run against a migrated database)
	$(PY) -m gamedb_codegen.pipeline vet

check: lint types fresh vet ## Everything CI checks before the tests: lint, types, fresh gen/, sqlc vet

test: setup ## Run the test suite against a real PostgreSQL (embedded unless GAMEDB_TEST_DATABASE_URL)
	$(PY) -m pytest -q

test-unit: setup ## The fast tier: the tests that need no server (seconds, starts no PostgreSQL)
	$(PY) -m pytest -q -m unit

# The suites of per-game work; the others test one server's own machinery (creating
# databases, dbmate, TLS, the CLI) and run on the single-server backends.
CITUS_SUITES := $(addprefix tests/integration/,test_citus.py test_operations.py \
	test_recovery.py test_rollback.py test_rollback_statemachine.py test_persister.py \
	test_replay.py test_database.py test_faults.py test_privileges.py)

test-citus: setup ## Run the per-game suites against the Citus cluster of `make citus`
	GAMEDB_TEST_BACKEND=citus $(PY) -m pytest -q $(CITUS_SUITES)

test-faults: setup ## The fault-injection tests at full counts (slow)
	GAMEDB_FULL_FAULTS=1 $(PY) -m pytest -q -m slow

bench: setup ## Measure every budget against raw asyncpg in the same run
	$(PY) -m benchmarks

bench-citus: setup ## The Citus cluster of `make citus` against the embedded server
	$(PY) -m benchmarks --citus

demo: setup ## Play simulated games, recover them from the database, and verify
	$(EMBEDDED) $(BIN)/gamedb demo

stop: setup ## Stop the embedded PostgreSQL server
	$(BIN)/gamedb server stop

citus: setup ## Build Citus (once) and start a coordinator and two workers (ports 9700-9702)
	@CITUS_SOURCE='$(CITUS_SOURCE)' $(PY) -m devtools.citus_cluster start

citus-stop: setup ## Stop the Citus cluster
	@$(PY) -m devtools.citus_cluster stop

clean: ## Remove the venv, caches and the embedded server's data
	-$(MAKE) stop
	-$(MAKE) citus-stop
	rm -rf $(VENV) .gamedb .mypy_cache .ruff_cache .pytest_cache build dist *.egg-info
