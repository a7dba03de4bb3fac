# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Node.js tools, each a folder with its own package-lock.json (installed with npm ci).
NODE_TOOLS := $(patsubst %/package-lock.json,%,$(wildcard tools/*/package-lock.json))

.PHONY: setup system-deps run chat test lint check package preview eval bench report doctor clean

$(STAMP): pyproject.toml $(wildcard tools/*/package-lock.json)
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is required: apt-get install nodejs npm"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	for tool in $(NODE_TOOLS); do npm ci --prefix $$tool --no-audit --no-fund --loglevel=error || exit 1; done
	touch $(STAMP)

## setup: create .venv and install the bot, the test tools and the Node.js tools
setup: $(STAMP)

## system-deps: Debian packages the tests need (Chromium for card previews); never downloads a browser
system-deps:
	@./scripts/system-deps.sh

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

## test: set everything up, lint, validate content and run the whole test suite
test: system-deps lint check
	$(PY) -m pytest

## package: the Teams app package (build/mim-sync-bot.zip)
package: setup
	$(PY) deploy/teams/build_package.py

## preview: render every card to PNG with the Adaptive Cards renderer (build/preview/)
preview: setup system-deps
	$(PY) tools/preview/preview.py

## eval: matcher accuracy on the labelled sets
eval: setup
	$(PY) -m intents eval tests/data/dev.yaml --min-score 0.95 --min-rejection 0.95
	$(PY) -m intents eval tests/data/heldout.yaml

## report: answers, helpful rate, escalations, open tickets, unanswered questions
report: setup
	$(PY) -m bot report

## doctor: check the configuration in the environment as a deployment would
doctor: setup
	$(PY) -m bot doctor

## bench: matcher latency against a baseline
bench: setup
	$(PY) bench/match.py

clean:
	rm -rf $(VENV) tools/*/node_modules build .pytest_cache .mypy_cache .ruff_cache
