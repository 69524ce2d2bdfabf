# devplat: the two commands a newcomer needs are `make run` and `make test`. Everything installs itself.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements/*.txt | sha1sum | cut -c1-12)
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install run test lint fmt typecheck openapi schema migrations-check deploy-check package-check check bench clean

$(STAMP): requirements/base.txt requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "devplat needs Python 3.11; set PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

## The platform in the foreground: embedded PostgreSQL and Redis unless DATABASE_URL / REDIS_URL are set.
run: install
	DEVPLAT_PORT=$(PORT) $(BIN)/python -m devplat.supervisor

## The whole suite. Uses DATABASE_URL / REDIS_URL when set, throwaway embedded servers otherwise.
test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MAKE) typecheck

typecheck: install
	$(BIN)/mypy

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

OPENAPI := docs/api-reference/openapi.yaml

## The OpenAPI schema agents read: regenerate it after changing the API, and commit it.
openapi: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file $(OPENAPI)

## The schema is valid, warning-free, and the committed one is what the code generates.
schema: install
	@generated=$$(mktemp --suffix=.yaml) && trap 'rm -f "$$generated"' EXIT && \
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file "$$generated" && \
	{ diff -u $(OPENAPI) "$$generated" || { echo "$(OPENAPI) is out of date: run make openapi and commit it." >&2; exit 1; }; }

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

## Django's deployment checklist with production settings (throwaway values for the variables it requires).
deploy-check: install
	DEVPLAT_ENV=production SECRET_KEY=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=devplat.example.com DEVPLAT_TOKEN_PEPPERS=1:$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))') \
	DEVPLAT_CLUSTER_KEYS=$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
	DATABASE_URL=$${DATABASE_URL:-postgres://devplat@db.invalid/devplat} REDIS_URL=$${REDIS_URL:-redis://redis.invalid:6379/0} \
	$(BIN)/python manage.py check --deploy --fail-level WARNING

## The gate CI runs: the suite, then lint, the OpenAPI check, the migrations check and the deploy check.
check: test lint schema migrations-check deploy-check package-check

## The platform package (crossplane/) is valid against the upstream CRD schemas beside the project.
package-check: install
	$(BIN)/python manage.py devplat crossplane validate

bench: install
	@ls bench/*.py >/dev/null 2>&1 && for b in bench/*.py; do $(BIN)/python $$b || exit 1; done || echo "no benchmarks yet"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
