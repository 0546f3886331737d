# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv on first use and install pinned dependencies (torch first, alone, pinned).
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): requirements.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/jrt synth --preset demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

# Tests marked full_data also run when a full data root is found: $JRT_DATA_DIR, else a shared/data
# folder beside the clone; without either they skip (every other test uses tests/fixtures).
FULL_DATA ?= $(or $(JRT_DATA_DIR),$(abspath $(wildcard ../shared/data)))

test: lint
	JRT_DATA_DIR="$(FULL_DATA)" $(BIN)/python -m pytest tests

clean:
	rm -rf $(VENV) .pytest_cache
