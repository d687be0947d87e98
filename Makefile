# Two commands do everything on a fresh machine:
#   make run    set up, then rebuild the pipeline with `dvc repro`
#   make test   set up, then run the whole test suite
# Running either again when nothing changed only re-checks the set-up (a second or two).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export LITELLM_LOCAL_MODEL_COST_MAP := True
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test setup setup-test chromium bubblewrap bench clean-venv

run: setup
	dvc repro

test: setup-test
	pytest -n 2 --dist loadfile -q

setup: $(VENV)/.installed node_modules/.package-lock.json chromium bubblewrap

setup-test: setup $(VENV)/.installed-test

# Debian splits venv out (python3-venv): installed here when root with apt, else named.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  if [[ "$$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); \
	  else echo "cannot create $(VENV): install Debian's python3-venv package" >&2; exit 1; fi; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
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
