# Stride: common tasks. `make help` lists them; each target has a `## ` comment above it.
# Everything runs from the repository root with the project venv in $(VENV).

PY ?= python3
VENV = .venv
VPY = $(VENV)/bin/python
# The default SQLite database (relative to the repository root, the app's working directory).
STRIDE_DATABASE_URL ?= sqlite:///var/stride.sqlite3
# Extra arguments, e.g. `make test ARGS="-k visit"` or `make backup ARGS="--help"`.
ARGS ?=

REQUIREMENTS = $(sort $(wildcard requirements*.txt))
# The stamp is keyed on the content of requirements*.txt: a change in any pin rebuilds the venv.
REQ_HASH := $(shell cat $(REQUIREMENTS) | sha256sum | cut -c1-16)
STAMP = $(VENV)/.stamp-$(REQ_HASH)

.DEFAULT_GOAL := help
.PHONY: help venv run test lint fmt typecheck demo bench backup verify-audit system-packages

## List the targets with their comments.
help:
	@awk '/^## /{c=substr($$0,4);next} /^[a-z][a-z-]*:/{if(c!=""){split($$1,t,":");printf "  %-16s %s\n",t[1],c};c=""}' $(MAKEFILE_LIST)

## Create or update .venv from requirements*.txt (only when they changed).
venv: $(STAMP)

$(STAMP): $(REQUIREMENTS)
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check $(addprefix -r ,$(REQUIREMENTS))
	@rm -f $(VENV)/.stamp-*
	@touch $@

## Run the app on http://127.0.0.1:8501 (fills an empty default database with the demo clinic first).
run: venv
	@mkdir -p var
	$(VPY) -m data.demo --database-url $(STRIDE_DATABASE_URL) --if-empty
	STRIDE_DATABASE_URL=$(STRIDE_DATABASE_URL) $(VPY) -m streamlit run server.py \
		--server.port 8501 --server.address 127.0.0.1 --browser.gatherUsageStats false

## Run every check (lint, format, types, all tests incl. PostgreSQL and browser); installs what is missing.
test: venv system-packages
	scripts/run-tests $(ARGS)

## Install missing Debian packages the tests need (chromium, poppler-utils, postgresql).
system-packages:
	scripts/ensure-system-packages

## Lint and check formatting (changes nothing).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

## Format the code and apply ruff's safe fixes.
fmt: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Type-check dashboard/, data/ and reports/ with mypy.
typecheck: venv
	$(VENV)/bin/mypy

## Fill the default SQLite database with the fictional demo clinic.
demo: venv
	@mkdir -p var
	$(VPY) -m data.demo --database-url $(STRIDE_DATABASE_URL) $(ARGS)

## Run the benchmarks (results under bench/).
bench: venv
	$(VPY) -m tests.benchmarks.run $(ARGS)

## Back up the database.
backup: venv
	$(VPY) -m data.backup $(ARGS)

## Verify the audit log's hash chain.
verify-audit: venv
	$(VPY) -m data.audit verify $(ARGS)
