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

run: $(STAMP)
	$(BIN)/python -m ledger.demo

# The HTTP API over the ledger under ./var (run `make run` once first). The sealed-store keys
# have no default: LEDGER_SEALED_KEY_DIR (the demo keeps them in var/sealed-keys).
serve: $(STAMP)
	LEDGER_SEALED_KEY_DIR=$${LEDGER_SEALED_KEY_DIR:-var/sealed-keys} $(BIN)/disclosure-ledger serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

lint: $(STAMP)
	$(BIN)/ruff check ledger projections api scripts tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/bench_append.py

clean:
	rm -rf $(VENV) var
