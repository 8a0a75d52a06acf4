# Stride: common tasks. `make help` lists them; each target has a `## ` comment above it.
# Everything runs from the repository root with the project venv in $(VENV).

PY ?= python3
VENV = .venv
VPY = $(VENV)/bin/python
# The default SQLite database (relative to the repository root, the app's working directory).
STRIDE_DATABASE_URL ?= sqlite:///var/stride.sqlite3
# Extra arguments, e.g. `make test ARGS="-k visit"` or `make backup ARGS="--help"`.
ARGS ?=

# requirements*.txt are the hand-edited inputs; requirements.lock pins every transitive dependency
# with its hashes (`make lock` regenerates it) and is what the venv is built from.
REQUIREMENTS = $(sort $(wildcard requirements*.txt))
LOCK = requirements.lock
# The stamp is keyed on the lock file's content: a change in any pin or hash rebuilds the venv.
LOCK_HASH := $(shell cat $(LOCK) | sha256sum | cut -c1-16)
STAMP = $(VENV)/.stamp-$(LOCK_HASH)
# `make lock` runs pip-compile from a throwaway tool venv outside the project (never .venv).
LOCK_TOOLS ?= $(or $(TMPDIR),/tmp)/stride-lock-tools
PIP_TOOLS = pip-tools==7.6.2

.DEFAULT_GOAL := help
.PHONY: help venv lock run test lint fmt typecheck demo bench load backup verify-audit system-packages

## List the targets with their comments.
help:
	@awk '/^## /{c=substr($$0,4);next} /^[a-z][a-z-]*:/{if(c!=""){split($$1,t,":");printf "  %-16s %s\n",t[1],c};c=""}' $(MAKEFILE_LIST)

## Create or update .venv from requirements.lock, every package hash-checked (only when it changed).
venv: $(STAMP)

$(STAMP): $(LOCK)
	@test -x $(VPY) || $(PY) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check --require-hashes -r $(LOCK)
	@rm -f $(VENV)/.stamp-*
	@touch $@

## Regenerate requirements.lock (pins, hashes) from requirements*.txt; ARGS=--upgrade refreshes all.
lock:
	@test -x $(LOCK_TOOLS)/bin/pip-compile || { $(PY) -m venv $(LOCK_TOOLS) && \
		$(LOCK_TOOLS)/bin/pip install --quiet --disable-pip-version-check $(PIP_TOOLS); }
	$(LOCK_TOOLS)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) $(ARGS) $(REQUIREMENTS)

## Run the app on http://127.0.0.1:8501 (fills an empty default database with the demo clinic first).
# MALLOC_ARENA_MAX=2: glibc's per-thread arenas kept freed memory (RSS 764 vs 483 MB after 200 sessions).
run: venv
	@mkdir -p var
	$(VPY) -m data.demo --database-url $(STRIDE_DATABASE_URL) --if-empty --today
	STRIDE_DATABASE_URL=$(STRIDE_DATABASE_URL) MALLOC_ARENA_MAX=2 $(VPY) -m streamlit run server.py \
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

## Type-check app.py, pages/, dashboard/, data/ and reports/ with mypy.
typecheck: venv
	$(VENV)/bin/mypy

## Fill the default SQLite database with the fictional demo clinic.
demo: venv
	@mkdir -p var
	$(VPY) -m data.demo --database-url $(STRIDE_DATABASE_URL) $(ARGS)

## Run the benchmarks (results under bench/).
bench: venv
	$(VPY) -m tests.benchmarks.run $(ARGS)

## Load benchmark: 5/10/20/30 concurrent clinician sessions, p95 per step, errors, memory (bench/load.md).
load: venv
	$(VPY) -m tests.load.run $(ARGS)

## Back up the database.
backup: venv
	$(VPY) -m data.backup $(ARGS)

## Verify the audit log's hash chain.
verify-audit: venv
	$(VPY) -m data.audit verify $(ARGS)
