# The two commands a new user needs are `make demo` and `make test`; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Pins everything installed, build backends included: pip >= 25.3 applies only build constraints in
# its isolated build environments, hence the same file as PIP_BUILD_CONSTRAINT.
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_BUILD_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup lint typecheck docs unit test test-matrix test-distributed chaos demo bench dist-check clean

# pip first: `--group` (the development tools, PEP 735 dependency groups) needs pip >= 25.1.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[emulator]' --group dev
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

docs: setup
	$(BIN)/sphinx-build -W --keep-going -n -q -b html docs docs/_build/html

# The integration tests run Airflow's services on a throwaway PostgreSQL (installed where missing).
unit: setup
	bash scripts/install-debian-services.sh postgresql
	$(BIN)/pytest

test: lint typecheck docs unit

# pytest on every supported Airflow (on Python 3.11) and every other supported Python (with the
# oldest or newest Airflow), each cell in .matrix/py<P>-airflow-<V>/ from its pinned constraints.
# Only some: make test-matrix VERSIONS="2.10.5 3.3.2" PYTHONS="3.13"; JOBS cells at a time.
VERSIONS ?=
PYTHONS ?=
JOBS ?= 2
test-matrix:
	bash scripts/install-debian-services.sh postgresql
	$(PYTHON) scripts/test_matrix.py --jobs $(JOBS) $(if $(strip $(VERSIONS)),--versions $(VERSIONS)) \
		$(if $(strip $(PYTHONS)),--pythons $(PYTHONS))

# 200 create -> extend -> delete lifecycles under random faults, kills and triggerer restarts; prints
# one table and fails if a duplicate, an orphan, a wrong state, a foreign exception or a secret shows.
# (make test runs a short seeded run of the same harness: tests/chaos/test_chaos.py.)
LIFECYCLES ?= 200
SEED ?= 1
chaos: setup
	$(BIN)/python -m tests.chaos --lifecycles $(LIFECYCLES) --seed $(SEED)

# The provider on a Celery cluster (PostgreSQL, Redis, two schedulers, workers), a worker killed
# mid-run. Its own .venv-distributed: the Celery provider and drivers pinned in
# constraints/distributed.txt, so that 'make test' runs without them.
DIST_VENV := .venv-distributed
DIST_STAMP := $(DIST_VENV)/.installed-stamp
$(DIST_STAMP): pyproject.toml constraints.txt constraints/distributed.txt
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install --quiet --upgrade pip
	PIP_CONSTRAINT=$(CURDIR)/constraints/distributed.txt PIP_BUILD_CONSTRAINT=$(CURDIR)/constraints/distributed.txt \
		$(DIST_VENV)/bin/pip install --quiet \
		--editable '.[emulator]' --group test apache-airflow-providers-celery 'psycopg[binary]'
	touch $(DIST_STAMP)

test-distributed: $(DIST_STAMP)
	bash scripts/install-debian-services.sh
	$(DIST_VENV)/bin/pytest -s --timeout 1500 tests/distributed/scenario_celery_cluster.py

demo: setup
	$(BIN)/python scripts/demo.py

# Build the sdist and wheel, twine check them, install the wheel alone into a new virtualenv and use
# it there (providers list, connections test, an example DAG); details in scripts/dist_check.py.
dist-check: setup
	$(BIN)/python scripts/dist_check.py

bench: setup
	$(BIN)/python benchmarks/emulator_throughput.py
	$(BIN)/python benchmarks/client_overhead.py
	$(BIN)/python benchmarks/triggerer_density.py
	$(BIN)/python benchmarks/create_cost.py
	$(BIN)/python benchmarks/parse_cost.py

clean:
	rm -rf $(VENV) $(DIST_VENV) .matrix .pytest_cache .mypy_cache .ruff_cache .demo .dist-check dist
