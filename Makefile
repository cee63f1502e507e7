# `make run` and `make test` are all a fresh machine needs: both create the venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: run test lint typecheck pytest fmt bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `make run AGREEMENT=demo` runs the agreements whose clocks are seconds (agreements/demo/: two
# customers side by side), to watch escalation live; without it, SLAFLOW_AGREEMENT_FILE
# (default: the agreements/ directory) applies.
AGREEMENT ?=

run: $(STAMP)
	$(VENV)/bin/slaflow run $(if $(AGREEMENT),--agreement $(AGREEMENT))

test: lint typecheck pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

# The browser tests drive Debian's Chromium (never a browser Playwright downloads); a fresh
# machine gets it here when `make test` runs as root, else the tests say how to install it.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else \
		echo "$(CHROMIUM) is missing: run 'sudo apt-get install -y chromium' for the browser tests"; \
	fi

# Debian's docker-compose 1.29 validates the compose file offline (tests/test_compose.py); no
# Docker engine is needed or started.
COMPOSE := /usr/bin/docker-compose

$(COMPOSE):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker-compose; \
	else \
		echo "$(COMPOSE) is missing: run 'sudo apt-get install -y docker-compose' for the compose check"; \
	fi

pytest: $(STAMP) $(CHROMIUM) $(COMPOSE)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) -m pytest $(PYTEST_ARGS)

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	PATH="$(abspath $(VENV))/bin:$$PATH" $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .slaflow .pytest_cache .mypy_cache .ruff_cache
