# MarketPrism developer commands. `make demo` and `make test` set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PACKAGES := app agents models tables sinks ingest

.PHONY: venv browser demo test unit integration lint format typecheck bench kafka-start kafka-stop clean

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/marketprism demo $(ARGS)

# Debian's Chromium for the dashboard test (tests/integration/test_dashboard.py), installed
# only when missing; apt-get runs through sudo unless make runs as root.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

# The whole gate: lint, types, then every test (integration and slow ones too).
# The test session starts a Kafka broker on 127.0.0.1:19092 when none runs there
# and stops it at the end.
test: venv browser lint typecheck
	$(BIN)/python -m pytest $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

integration: venv
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: venv
	$(BIN)/mypy

BENCHMARKS := $(filter-out bench/timing.py,$(wildcard bench/*.py))

# The benchmarks' baselines (the `bench` extra: cryptofeed for bench/ingest.py) are
# installed here only, never by `make demo` or `make test`.
BENCH_STAMP := $(VENV)/.bench-installed-stamp

$(BENCH_STAMP): $(STAMP) setup.cfg
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@touch $(BENCH_STAMP)

bench: venv $(BENCH_STAMP)
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

kafka-start:
	scripts/kafka start

kafka-stop:
	scripts/kafka stop

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache var
