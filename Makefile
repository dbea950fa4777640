# The platform's front door. `make run` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
UV_VERSION := 0.13.9
CHECKOV_VERSION := 3.3.30
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
IAC := $(TOOLS)/iac
CHECKOV := $(IAC)/bin/checkov
MANIFEST := dbt_project/target/manifest.json
DBT_SOURCES := $(shell find dbt_project -path dbt_project/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' \) -print 2>/dev/null)

# Settings live in .env (see .env.example), read and validated by python_scripts/settings.py, never by make;
# the process environment wins over the file.
export PYTHONPATH := $(CURDIR):$(CURDIR)/dags
# The settings and what Airflow, Cosmos and dbt read derived from them; an invalid setting stops the target.
WITH_ENV = exports="$$($(BIN)/python -m python_scripts.settings --export)" && eval "$$exports" &&

.PHONY: help install db-up db-init run replay test test-fast test-reliability lint format manifest dbt-build docs docs-generate sandbox clean-local \
	test-tools browser iac-lint airflow airflow-stop airflow-status up down clean ps logs psql trigger

help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

install: $(STAMP) $(MANIFEST) ## Build .venv from uv.lock (bytecode compiled) and the dbt manifest

$(UV):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (see README)"; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install -q "uv==$(UV_VERSION)"

$(STAMP): $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --python $(PYTHON) --quiet
	@touch $@

$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(WITH_ENV) cd dbt_project && ../$(BIN)/dbt parse --quiet

manifest: $(MANIFEST) ## dbt parse: the manifest that Cosmos renders DAGs from

db-up: ## Start (or install) the local PostgreSQL server if it does not answer
	@bash sql/ensure-postgres.sh

db-init: $(STAMP) db-up ## Create roles, databases, schemas and audit tables (idempotent)
	$(BIN)/python -m python_scripts.warehouse.init

run: install db-init ## Run the whole pipeline once on the sandbox (or the APIs in .env) and print a summary
	$(BIN)/python -m python_scripts.ops.local_run $(if $(DATE),--date $(DATE))

replay: install db-init ## Reload bronze from the lake and rebuild downstream: SOURCE=… [ENTITY=…] START=… END=…
	$(BIN)/python -m python_scripts.ops.replay --source "$(SOURCE)" $(if $(ENTITY),--entity "$(ENTITY)") \
		--start "$(START)" --end "$(END)"

test: install db-up test-tools $(CHECKOV) ## The whole test suite: unit, integration, dbt, Airflow end to end, reliability
	$(BIN)/python -m pytest

test-tools: ## Install what the tests drive besides Python where missing: chromium, docker-compose, radosgw (apt)
	@bash tests/ensure-test-tools.sh

browser: test-tools ## Alias of test-tools: headless Chromium for the Airflow UI test

# A real S3 endpoint for trying the lake on S3 (the s3_gateway tests start their own): Ceph radosgw on a
# one-node in-memory cluster under .tools/radosgw, on 127.0.0.1 only.
S3GW_PORT ?= 7480
S3GW_DIR := $(TOOLS)/radosgw
.PHONY: s3-gateway-up s3-gateway-down

s3-gateway-up: ## Start Ceph radosgw as an S3 endpoint on 127.0.0.1:S3GW_PORT (apt as root); prints its env
	@bash tests/s3_gateway/radosgw.sh install
	@bash tests/s3_gateway/radosgw.sh start $(S3GW_DIR) $(S3GW_PORT)
	@echo "# for your shell: source $(S3GW_DIR)/env; LAKE_URL=s3://<bucket>/lake (create the bucket first)"

s3-gateway-down: ## Stop the radosgw S3 endpoint, leaving no process behind, and delete its data
	@bash tests/s3_gateway/radosgw.sh stop $(S3GW_DIR)

test-fast: install db-up ## Tests without the Airflow end-to-end runs and the Docker stack
	$(BIN)/python -m pytest -m "not e2e and not stack"

test-reliability: install db-up test-tools ## The fault, crash, privilege and secrets suites and the real S3 tier
	$(BIN)/python -m pytest tests/reliability tests/s3_gateway

lint: install db-init ## ruff, sqlfluff (dbt templater, needs the warehouse), yamllint and a secrets scan
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(WITH_ENV) $(BIN)/sqlfluff lint dbt_project
	$(BIN)/yamllint -s .
	$(BIN)/detect-secrets-hook --baseline .secrets.baseline $$(git ls-files)

# checkov lives in its own venv: its dependencies clash with the project's (python-hcl2, boto3).
$(CHECKOV):
	$(PYTHON) -m venv $(IAC)
	$(IAC)/bin/python -m pip install -q --disable-pip-version-check "checkov==$(CHECKOV_VERSION)"

iac-lint: $(STAMP) $(CHECKOV) ## checkov on terraform/ (own tools venv), hadolint on airflow/Dockerfile
	$(CHECKOV) --quiet --compact --skip-download -d terraform --framework terraform
	$(BIN)/hadolint airflow/Dockerfile

format: install ## Apply ruff and sqlfluff fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(WITH_ENV) $(BIN)/sqlfluff fix dbt_project

dbt-build: install db-init ## dbt build (models, snapshots, tests) against the warehouse
	$(WITH_ENV) cd dbt_project && ../$(BIN)/dbt build

# dbt docs (models, tests, sources and the lineage graph, with the warehouse's catalog) go to DBT_DOCS_DIR,
# default dbt_project/target/docs: the folder the Airflow UI serves under Browse > dbt docs (Cosmos' plugin).
DOCS_PORT ?= 8081

docs-generate: install db-init ## Regenerate the dbt docs (catalog from the warehouse) into DBT_DOCS_DIR
	$(WITH_ENV) docs_dir="$$(realpath -m "$$DBT_DOCS_DIR")" && cd dbt_project && \
		../$(BIN)/dbt docs generate --target-path "$$docs_dir"

docs: docs-generate ## Regenerate the dbt docs and serve them on 127.0.0.1:DOCS_PORT (Ctrl-C stops)
	@echo "dbt docs  http://127.0.0.1:$(DOCS_PORT)  (and in the Airflow UI: Browse > dbt docs); Ctrl-C stops"
	$(WITH_ENV) $(BIN)/python -m http.server --bind 127.0.0.1 --directory "$$DBT_DOCS_DIR" $(DOCS_PORT)

.PHONY: bench
bench: install db-up ## Load, extraction and Cosmos benchmarks in their own databases (BENCH_ARGS=--quick: CI-sized)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

.PHONY: report
report: install db-init ## The KPI dashboard of the marts, read as bi_reader, into one HTML file (OUT=reports/kpi.html)
	$(BIN)/python -m python_scripts.report --out $(or $(OUT),reports/kpi.html)

sandbox: $(STAMP) ## Serve the sandbox API in the foreground (PORT=8000)
	$(BIN)/python -m python_scripts.sandbox --port $(or $(PORT),8000)

airflow: install db-init ## Start Airflow natively in the background (UI on AIRFLOW_PORT; CELERY=1: Celery worker)
	$(BIN)/python -m python_scripts.ops.airflow_services start $(if $(CELERY),--celery)

airflow-stop: $(STAMP) ## Stop the native Airflow services (and their sandbox), leaving no process behind
	$(BIN)/python -m python_scripts.ops.airflow_services stop

airflow-status: $(STAMP) ## List the native Airflow services that are running
	$(BIN)/python -m python_scripts.ops.airflow_services status

# Pipeline-health metrics natively: Debian's prometheus and prometheus-postgres-exporter (make test-tools).
.PHONY: metrics metrics-stop up-monitoring

metrics: $(STAMP) db-up ## Start Prometheus and the PostgreSQL exporter on 127.0.0.1 (PROMETHEUS_PORT, PG_EXPORTER_PORT)
	$(BIN)/python -m python_scripts.ops.monitoring start

metrics-stop: $(STAMP) ## Stop the native Prometheus and exporter, leaving no process behind
	$(BIN)/python -m python_scripts.ops.monitoring stop

clean-local: ## Remove the local lake, Airflow home and dbt output (keeps .venv and databases)
	rm -rf data .airflow dbt_project/target dbt_project/logs

# --- Docker Compose stack (needs a Docker engine with Compose v2; docs/docker-stack.md) ----------------------
# The helper is standard-library Python, so the stack needs no virtualenv. It runs COMPOSE if set, else
# `docker compose`, else the Compose v2 binary of uv.lock (make install) where the CLI has no compose plugin.
STACK = $(or $(shell command -v $(PYTHON) 2>/dev/null),python3) -m python_scripts.ops.stack
COMPOSE ?= $(shell $(STACK) compose-command 2>/dev/null || echo docker compose)

.PHONY: secrets test-stack docker-engine docker-engine-stop

docker-engine: ## Start Debian's Docker engine here (installed as root) when none answers; stopped with docker-engine-stop
	@bash tests/stack/engine.sh ensure .run/docker-engine

docker-engine-stop: ## Stop the Docker engine that make docker-engine started
	@bash tests/stack/engine.sh stop .run/docker-engine

secrets: ## Write a random value into .env for every secret the Docker stack needs and .env lacks
	@$(STACK) secrets

up: ## Build and start the Docker stack (secrets generated at a terminal), wait until healthy, print the URLs
	@$(STACK) up

up-monitoring: ## The Docker stack plus Prometheus, Grafana and the exporters (set AIRFLOW_STATSD_ON=true in .env)
	@$(STACK) up --profile monitoring

down: ## Stop the Docker stack (volumes and data are kept)
	@$(STACK) down

clean: ## Stop the Docker stack and delete its volumes (warehouse, metadata, lake)
	@$(STACK) clean

test-stack: install test-tools ## The Docker stack tier alone: engine, stand-in images, make up, DAG runs, down, clean
	$(BIN)/python -m pytest tests/stack

psql: ## psql into the stack's warehouse (as the admin from .env)
	$(COMPOSE) exec postgres psql -U postgres -d warehouse

trigger: ## Trigger a DAG run in the stack: make trigger DAG=fakestore_ingest
	@test -n "$(DAG)" || { echo "usage: make trigger DAG=<dag_id>"; exit 2; }
	$(COMPOSE) exec airflow-scheduler airflow dags unpause "$(DAG)"
	$(COMPOSE) exec airflow-scheduler airflow dags trigger "$(DAG)"

ps: ## Show the Docker stack's services
	$(COMPOSE) ps

logs: ## Follow the Docker stack's logs
	$(COMPOSE) logs -f --tail=100
