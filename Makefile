# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run chat test lint check clean

$(STAMP): pyproject.toml tools/cardcheck/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is required for card validation"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	npm ci --prefix tools/cardcheck --no-audit --no-fund --loglevel=error
	touch $(STAMP)

## setup: create .venv and install the bot, the test tools and the card validator
setup: $(STAMP)

## run: serve the bot locally (no auth, 127.0.0.1:3978) for the Bot Framework Emulator
run: setup
	$(PY) -m bot

## chat: talk to the bot in this terminal
chat: setup
	$(PY) -m bot chat

## check: validate content/
check: setup
	$(PY) -m intents check

## lint: ruff and mypy --strict
lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

## test: lint, validate content and run the whole test suite
test: lint check
	$(PY) -m pytest

clean:
	rm -rf $(VENV) tools/cardcheck/node_modules build .pytest_cache .mypy_cache .ruff_cache
