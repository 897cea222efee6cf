# The two commands a new user needs are `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Pins everything installed, build backends included (pip applies PIP_CONSTRAINT to build envs too).
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup lint typecheck docs unit test test-matrix chaos demo bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

docs: setup
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html

unit: setup
	$(BIN)/pytest

test: lint typecheck docs unit

# pytest on every supported Airflow, each in .matrix/airflow-<version>/ from constraints/airflow-<version>.txt.
# Only some: make test-matrix VERSIONS="2.10.5 3.3.2"
VERSIONS ?=
test-matrix:
	$(PYTHON) scripts/test_matrix.py $(if $(strip $(VERSIONS)),--versions $(VERSIONS))

# 200 create -> extend -> delete lifecycles under random faults, kills and triggerer restarts; prints
# one table and fails if a duplicate, an orphan, a wrong state, a foreign exception or a secret shows.
# (make test runs a short seeded run of the same harness: tests/chaos/test_chaos.py.)
LIFECYCLES ?= 200
chaos: setup
	$(BIN)/python -m tests.chaos --lifecycles $(LIFECYCLES)

demo: setup
	$(BIN)/python scripts/demo.py

bench: setup
	$(BIN)/python benchmarks/emulator_throughput.py
	$(BIN)/python benchmarks/client_overhead.py

clean:
	rm -rf $(VENV) .matrix .pytest_cache .mypy_cache .ruff_cache
