# Two commands on a fresh machine with only python3: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: install demo test test-quick local-llm bench lint screenshots clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(INSTALLED)

install: $(INSTALLED)

# Migrates, seeds the demo project, serves the app on 127.0.0.1:8000 and a Celery worker. Ctrl-C stops both.
# `make demo DEMO_ARGS="--port 8001"` serves on another port; DEMO_ARGS=--no-serve seeds only.
demo: install
	$(BIN)/python manage.py demo $(DEMO_ARGS)

# The whole suite. With DATABASE_URL and CELERY_BROKER_URL set it runs on those services;
# with REQUIRE_SERVICES=1 a missing service fails the run instead of being skipped.
# PYTEST_ARGS picks a part, e.g. `make test PYTEST_ARGS='-m realmodel'`.
test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The quick part alone: no browser, no worker processes, no fault injection, no real model.
test-quick: install
	$(BIN)/pytest -m "not e2e and not services and not slow and not realmodel"

# A real open-weight model (Qwen2.5-Coder-1.5B-Instruct on llama.cpp) on 127.0.0.1:8191 until Ctrl-C, in a
# venv of its own (not .venv). The first run builds llama-cpp-python (minutes); later runs reuse it.
# `make local-llm LOCAL_LLM_ARGS=--no-serve` installs and checks only.
local-llm:
	$(PYTHON) tools/local_llm.py $(LOCAL_LLM_ARGS)

bench: install
	@for script in bench/*.py; do [ "$$script" = bench/common.py ] && continue; echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The README's pictures (docs/screenshots/*.png), retaken in Chromium from the demo data in a throwaway folder.
screenshots: install
	$(BIN)/python tools/screenshots.py

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) var staticfiles
