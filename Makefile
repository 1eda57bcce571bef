PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean install-check

# The pip that ships with the oldest supported Python (3.11 → 23.2.1); `install-check` installs with it.
OLDEST_PIP ?= 23.2.1
INSTALL_CHECK_VENV ?= /tmp/wirewatch-install-check

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "wirewatch needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev,airflow]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/wirewatch demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -n 2

# A user's first `pip install .` with an old pip must give a working command: a dependency only a newer pip
# resolves broke every command once (lxml_html_clean). A fresh venv, pip pinned to the oldest, no upgrade.
install-check:
	rm -rf $(INSTALL_CHECK_VENV)
	$(PYTHON) -m venv $(INSTALL_CHECK_VENV)
	$(INSTALL_CHECK_VENV)/bin/python -m pip install --quiet 'pip==$(OLDEST_PIP)'
	$(INSTALL_CHECK_VENV)/bin/python -m pip --version
	$(INSTALL_CHECK_VENV)/bin/python -m pip install --quiet .
	$(INSTALL_CHECK_VENV)/bin/wirewatch --help > /dev/null
	cd $(INSTALL_CHECK_VENV) && bin/wirewatch demo --dir demo > /dev/null
	rm -rf $(INSTALL_CHECK_VENV)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench.bench_feeds
	$(BIN)/python -m bench.bench_extraction
	$(BIN)/python -m bench.bench_cycle --profile
	$(BIN)/python -m bench.bench_dedup --scale
	$(BIN)/python -m bench.bench_quotes
	$(BIN)/python -m bench.bench_entities
	$(BIN)/python -m bench.bench_model_cost

# Needs Docker: a throwaway copy of the compose stack, the contract suite against it, one Kibana import,
# then down again (docker/stack-test.sh says each step).
.PHONY: stack-test
stack-test: $(VENV)/.installed-dev
	PYTHON=$(BIN)/python ./docker/stack-test.sh

clean:
	rm -rf $(VENV) wirewatch-demo .pytest_cache .mypy_cache .ruff_cache
