# The two set-up commands: `make run` and `make test`. Each creates .venv when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# The service on the embedded SQLite default at http://127.0.0.1:8000 (OpenAPI docs at /docs):
# on first start the demo is loaded into ./var (the 2025 story, fictional people), then the
# stored log is re-verified and the API serves it. The sealed-store keys have no default in
# production; the demo keeps its own in var/sealed-keys.
run: $(STAMP)
	$(BIN)/python -m demo
	LEDGER_SEALED_KEY_DIR=$${LEDGER_SEALED_KEY_DIR:-var/sealed-keys} $(BIN)/disclosure-ledger serve

# The HTTP API alone, over the ledger under ./var.
serve: $(STAMP)
	LEDGER_SEALED_KEY_DIR=$${LEDGER_SEALED_KEY_DIR:-var/sealed-keys} $(BIN)/disclosure-ledger serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check ledger projections usecases api scripts tests bench demo
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_append.py

clean:
	rm -rf $(VENV) var
