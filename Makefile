# Two commands for a newcomer:  `make run`  starts the assistant;  `make test`  runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test install lint bench clean

# Debian's Chromium and a Chinese font for the browser tests (Playwright's own download
# cannot reach its servers here), and PostgreSQL, which the store and audit tests start as a
# throwaway server on loopback; skipped when already installed.
SYSTEM_PACKAGES := chromium fonts-wqy-microhei postgresql
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

run: $(STAMP)
	$(BIN)/assistant ingest --prune
	$(BIN)/assistant serve

test: $(STAMP)
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/retrieval.py

clean:
	rm -rf $(VENV) data
