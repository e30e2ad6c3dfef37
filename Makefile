# Two commands set banjia up on a fresh machine: `make run` and `make test`.
# Both install exactly the lock, requirements*.txt (hashes checked); `make lock` is the only step that
# resolves versions.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
INSTALL := $(PIP) install --quiet --require-hashes --no-deps
RUNTIME_STAMP := $(VENV)/.banjia-runtime
DEV_STAMP := $(VENV)/.banjia-installed
# a build tuned for the build machine's CPU crashed at the first token on these machines
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF
ARGS ?=
PYTEST_ARGS ?=
UV_VERSION := 0.13.8
LOCK_VENV := .lock-venv
UV := $(LOCK_VENV)/bin/uv
# `make lock` keeps every pin pyproject.toml still allows; `make lock UPGRADE=1` moves them all to the newest
COMPILE = $(UV) pip compile --quiet --generate-hashes --universal --python-version 3.11 --no-header $(if $(UPGRADE),--upgrade)

.PHONY: run test lint typecheck install install-runtime services browser bench bench-quick lock clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# build tools first, so source builds (llama-cpp-python, banjia) use the locked ones, not the latest
$(RUNTIME_STAMP): requirements-build.txt requirements.txt pyproject.toml | $(VENV)/bin/python
	$(INSTALL) -r requirements-build.txt
	$(INSTALL) --no-build-isolation -r requirements.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(INSTALL) --no-build-isolation -r requirements-dev.txt
	@touch $@

install-runtime: $(RUNTIME_STAMP)

install: $(DEV_STAMP)

run: $(RUNTIME_STAMP)
	$(BIN)/banjia serve $(ARGS)

services:
	@scripts/services.sh

browser:
	@scripts/browser.sh

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

test: $(DEV_STAMP) services browser lint typecheck
	$(BIN)/pytest -n auto $(PYTEST_ARGS)

bench: $(RUNTIME_STAMP)
	$(BIN)/python -m bench

bench-quick: $(RUNTIME_STAMP)
	$(BIN)/python -m bench --quick

# The only step that resolves versions.
lock:
	@test -x $(UV) || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION); }
	$(COMPILE) requirements/build.in -o requirements-build.txt
	$(COMPILE) pyproject.toml --extra dev --override requirements/overrides.txt -o requirements-dev.txt
	$(COMPILE) pyproject.toml --override requirements/overrides.txt -c requirements-dev.txt -o requirements.txt

clean:
	rm -rf $(VENV) $(LOCK_VENV) .mypy_cache .ruff_cache .pytest_cache
