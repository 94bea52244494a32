# wijkbus: `make run` starts the embedded stack, `make test` runs every suite against real components.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# pytest workers: the suite mostly waits on brokers, databases and browsers, so three share two
# cores well; each worker starts its own embedded broker and PostgreSQL.
WORKERS ?= 3

.PHONY: install run test lint unit integration e2e bench schemas clean browser

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) -m tools dev

test: install lint browser
	$(PY) -m pytest -q -n $(WORKERS) --dist loadfile tests

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

unit: install
	$(PY) -m pytest -q tests/unit

integration: install
	$(PY) -m pytest -q tests/integration

e2e: install browser
	$(PY) -m pytest -q tests/e2e

# Debian's Chromium for the dashboard tests in tests/e2e (never a browser download), and npm,
# with which the accessibility check fetches axe-core from the npm registry.
browser:
	command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)
	command -v npm >/dev/null || (apt-get update -q && apt-get install -y -q npm)

bench: install
	$(PY) -m bench

schemas: install
	$(PY) -m contracts.schema_gen

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
