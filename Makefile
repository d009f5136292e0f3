# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# Byte-code goes under var/ too, so that nothing but .venv/ and var/ appears in the checkout.
export PYTHONPYCACHEPREFIX := $(CURDIR)/var/pycache

.PHONY: run test install install-test migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	mkdir -p var
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(STAMP) tests/node/package-lock.json
	$(BIN)/pip install --quiet -e '.[test]'
	# The official Node SDK, for the tests that build delivery URLs with it (tests/medialib/test_delivery_node.py).
	npm ci --prefix tests/node --no-audit --no-fund --silent
	touch $@

install: $(STAMP)
install-test: $(VENV)/.installed-test

migrate: install
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v0

run: migrate
	$(BIN)/python manage.py ensure_admin
	@echo "Open http://127.0.0.1:$(PORT)/ (Ctrl-C stops the web server, the worker and beat)."
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf var/ $(VENV)
