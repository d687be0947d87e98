# Two commands do everything on a fresh machine:
#   make run    set up, then rebuild the pipeline with `dvc repro`
#   make test   set up, lint and type-check, then run the whole test suite
# Running either again when nothing changed only re-checks the set-up (a second or two).
# Also: make test-fast (the suite without the tests marked slow), make lint, make lock.
# Python packages install at the versions in requirements.lock (see `make lock`).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PYTHONDONTWRITEBYTECODE := 1
LOCK := requirements.lock
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK)

.PHONY: run test test-fast lint lock setup setup-test chromium bubblewrap bench clean-venv

run: setup
	dvc repro

test: lint
	pytest -n 2 --dist loadfile -q

test-fast: setup-test
	pytest -n 2 --dist loadfile -q -m "not slow"

# Silent when clean; each tool prints its findings otherwise.
lint: setup-test
	@ruff check --quiet .
	@ruff format --check --quiet .
	@mypy --no-error-summary

# Record the versions installed in .venv (dependencies of '.[test]' only) in requirements.lock.
# After changing dependencies in pyproject.toml or upgrading a package in .venv: make lock.
lock: $(VENV)/.installed-test
	$(BIN)/python scripts/lock.py

setup: $(VENV)/.installed node_modules/.package-lock.json chromium bubblewrap

setup-test: setup $(VENV)/.installed-test

# Debian splits venv out (python3-venv): installed here when root with apt, else named.
$(VENV)/bin/python:
	@echo "creating $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if [[ "$$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "cannot create $(VENV): install Debian's python3-venv package" >&2; exit 1; fi; }
	@$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(VENV)/bin/python
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(LOCK) $(VENV)/.installed
	$(PIP_INSTALL) -e '.[test]'
	touch $@

# The JavaScript libraries that generated pages load from CDNs, served locally.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium: $(VENV)/.installed
	@scripts/ensure-chromium.sh

# The sandbox that runs code challenges' tests on untrusted outputs.
bubblewrap:
	@scripts/ensure-bubblewrap.sh

bench: setup-test
	@for script in bench/bench_*.py; do echo "== $$script"; python $$script || exit 1; done

clean-venv:
	rm -rf $(VENV) node_modules
