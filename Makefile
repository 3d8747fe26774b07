# The two commands a new user needs: `make run` and `make test`. Both set up .venv themselves.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
EXAMPLE_DIR := examples/lf_job_etl_pipeline
EXAMPLE := $(EXAMPLE_DIR)/databricks.yml

.PHONY: run test test-spawn test-simulation lint bench chaos fuzz load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# The tests need the optional extras too (Dask for job clusters); `make run` needs none.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	touch $@ $(VENV)/.installed

# The example's alerts go to a local catcher (examples/lf_job_etl_pipeline/alert_catcher.py),
# started for the run and stopped after it. ARGS passes more options: make run ARGS="--param simulate_failure=true"
# The catcher's ports, as the example's headwater.yml names them.
ALERT_PORTS := 18025 18026
run: $(VENV)/.installed
	@for port in $(ALERT_PORTS); do $(BIN)/python -c "import socket, sys; socket.create_server(('127.0.0.1', int(sys.argv[1]))).close()" $$port 2>/dev/null \
	  || { echo "make run: port $$port is in use, so the example's alert catcher cannot start and its alerts would be lost; stop what holds it (another make run?) and try again" >&2; exit 1; }; done
	@$(BIN)/python $(EXAMPLE_DIR)/alert_catcher.py & catcher=$$!; sleep 0.3; \
	HEADWATER_CONFIG=$(EXAMPLE_DIR)/headwater.yml $(BIN)/headwater run $(EXAMPLE) --target dev $(ARGS); \
	status=$$?; sleep 0.5; kill $$catcher 2>/dev/null; exit $$status

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src
	$(BIN)/lint-imports

# The tests run on WORKERS pytest-xdist workers (each with a PostgreSQL database of its own:
# tests/conftest.py); `worksteal` keeps every worker busy to the end, where the long
# end-to-end tests are. The slowest are listed at the end (--durations), to keep CI within
# its time.
WORKERS ?= 2
PYTEST = $(BIN)/pytest -q -n $(WORKERS) --dist worksteal

test: lint
	$(PYTEST) --durations=25

# The same suite with the fork server off: every task starts as a new process.
test-spawn: lint
	HEADWATER_LAUNCH=spawn $(PYTEST)

# The what-if simulation against real runs, with more random jobs than the sample `make test` runs.
test-simulation: $(VENV)/.installed-dev
	HEADWATER_SIMULATION_EXAMPLES=150 $(BIN)/pytest -q tests/e2e/test_simulation_matches_runs.py

# W2 also runs on a Dask job cluster, W7 in Chromium (Playwright): the dev and dask extras.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev,dask]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-dev

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/run.py

# Every chaos round (20 of kill -9, 3 of each other fault), on SQLite and, when
# HEADWATER_TEST_POSTGRES_URL names a database it may wipe, on PostgreSQL; prints the table.
# `make test` runs one round of each. ARGS passes options: make chaos ARGS="--rounds 1"
chaos: $(VENV)/.installed-dev
	$(BIN)/python -m tests.chaos.rounds $(ARGS)

# The API fuzzed from its OpenAPI document, 200 generated requests an operation on SQLite and
# on PostgreSQL (HEADWATER_TEST_POSTGRES_URL); `make test` runs 20 on SQLite. FUZZ_EXAMPLES=N
# for another count.
FUZZ_EXAMPLES ?= 200
fuzz: $(VENV)/.installed-dev
	HEADWATER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q tests/api/test_fuzz.py
	HEADWATER_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) HEADWATER_FUZZ_STORE=postgresql \
		$(BIN)/pytest -q tests/api/test_fuzz.py

# 200 clients starting and polling runs for a minute against a real server (`make test` runs a
# sample). ARGS passes more options: make load ARGS="--db postgresql+psycopg://..."
load: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/load.py $(ARGS)

clean:
	rm -rf .headwater examples/*/output
