# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
# Byte-code goes under var/ too, so that nothing but .venv/ and var/ appears in the checkout.
export PYTHONPYCACHEPREFIX := $(CURDIR)/var/pycache

.PHONY: run test install install-test migrate clean

# `make run` serves like production: DEBUG off (no debug page listing every URL), unless `DEBUG=true make run`.
# The secret key is made once under var/ and handed to every process (medialib.E001 asks for it with DEBUG off);
# on loopback there is no TLS, so no HTTPS redirect and no Secure-only cookies.
RUN_ENV = DEBUG=$${DEBUG:-false} SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" \
	SECURE_SSL_REDIRECT=$${SECURE_SSL_REDIRECT:-false} SESSION_COOKIE_SECURE=$${SESSION_COOKIE_SECURE:-false} \
	CSRF_COOKIE_SECURE=$${CSRF_COOKIE_SECURE:-false}

var/secret_key:
	mkdir -p var
	umask 077 && $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))' > $@

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

migrate: install var/secret_key
	$(RUN_ENV) $(BIN)/python manage.py migrate --no-input
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --no-input -v0

run: migrate
	$(RUN_ENV) $(BIN)/python manage.py ensure_admin
	@echo "Open http://127.0.0.1:$(PORT)/ (Ctrl-C stops the web server, the worker and beat)."
	$(RUN_ENV) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT)

# The suite runs in PYTEST_WORKERS pytest processes (pytest-xdist, whole files each; each process has its own test
# database, broker keys and var/ folder); most tests wait on worker processes, servers and Chromium, so 3 pay on
# 2 cores. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 3

test: install-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

clean:
	rm -rf var/ $(VENV)
