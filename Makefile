# The two commands of the README: `make demo` and `make test`. Each creates (or reuses) a local
# virtual environment in .venv and installs filmagg into it first; only python3 is needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/filmagg demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/identity.py && $(BIN)/python bench/parse.py && $(BIN)/python bench/pipeline.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache filmagg.db filmagg.db-wal filmagg.db-shm
