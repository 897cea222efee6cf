# The two commands a new user needs are `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Pins everything installed, build backends included (pip applies PIP_CONSTRAINT to build envs too).
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup lint typecheck docs unit test test-matrix test-distributed demo bench clean

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

# The provider on a Celery cluster (PostgreSQL, Redis, two schedulers, workers), a worker killed
# mid-run. Its own .venv-distributed: the Celery provider and drivers pinned in
# constraints/distributed.txt, so that 'make test' runs without them.
DIST_VENV := .venv-distributed
DIST_STAMP := $(DIST_VENV)/.installed-stamp
$(DIST_STAMP): pyproject.toml constraints.txt constraints/distributed.txt
	$(PYTHON) -m venv $(DIST_VENV)
	PIP_CONSTRAINT=$(CURDIR)/constraints/distributed.txt $(DIST_VENV)/bin/pip install --quiet \
		--editable '.[dev]' apache-airflow-providers-celery 'psycopg[binary]'
	touch $(DIST_STAMP)

test-distributed: $(DIST_STAMP)
	bash scripts/install-debian-services.sh
	$(DIST_VENV)/bin/pytest -s --timeout 1500 tests/distributed/scenario_celery_cluster.py

demo: setup
	$(BIN)/python scripts/demo.py

bench: setup
	$(BIN)/python benchmarks/emulator_throughput.py
	$(BIN)/python benchmarks/client_overhead.py

clean:
	rm -rf $(VENV) $(DIST_VENV) .matrix .pytest_cache .mypy_cache .ruff_cache
