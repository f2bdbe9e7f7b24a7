# openclaw: `make run` installs and starts the gateway; `make test` installs and runs the tests.
VENV ?= .venv
PY := $(VENV)/bin/python
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run install install-dev lock image browser test check test-services ci bench

$(PY):
	"$$(scripts/python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Dependencies come from the lock files (exact versions with their hashes), then openclaw itself,
# which finds every dependency installed (one added to pyproject.toml but not locked yet still
# installs, and tests/packaging/test_lock.py says to run `make lock`). Stamps: a second
# `make run` starts at once; editing pyproject.toml or a lock file reinstalls.
$(VENV)/.installed: pyproject.toml requirements.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements-dev.lock | $(PY)
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

# After a dependency change in pyproject.toml: pin again (pip-tools; versions already pinned are
# kept where they still fit), then `make install-dev`. tests/packaging/test_lock.py checks it.
PIP_COMPILE = $(PY) -m piptools compile --quiet --generate-hashes --strip-extras --allow-unsafe \
	--no-emit-index-url --no-emit-find-links
lock: $(PY)
	$(PY) -m pip install --quiet pip-tools
	$(PIP_COMPILE) --extra postgres -o requirements.lock pyproject.toml
	$(PIP_COMPILE) --extra dev -o requirements-dev.lock pyproject.toml

# First run: migrations, the admin user `admin` (password generated into OPENCLAW_HOME/admin.password),
# the default agent and workspace, the gateway token, a model check that only warns
# (`manage.py onboard` asks for the admin user and the provider interactively); then the static
# files, hashed and compressed, into STATIC_ROOT (only changed files are compressed again).
run: install
	$(PY) manage.py onboard --no-input --initial-admin --warn-only --timeout 10
	$(PY) manage.py collectstatic --no-input --verbosity 0
	$(PY) manage.py gateway

# The web chat test drives Debian's chromium, never a downloaded browser: installed here when
# missing and we are root with apt (CI); otherwise that test fails and names the package.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
		apt-get install -y --no-install-recommends chromium || \
		(apt-get update && apt-get install -y --no-install-recommends chromium)

# Workers: most of the suite waits on gateway processes, so three share two cores well.
TEST_WORKERS ?= 3

test: install-dev browser
	$(PY) -m pytest -n $(TEST_WORKERS)

check: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test-services: install-dev
	DATABASE_URL=$(SERVICES_DATABASE_URL) REDIS_URL=$(SERVICES_REDIS_URL) $(PY) -m pytest -n $(TEST_WORKERS) -m services

ci: test check test-services

bench: install-dev
	$(PY) bench/run.py

# The container image (Dockerfile; needs a machine that can pull python:3.12-slim).
image:
	docker build -t openclaw .
