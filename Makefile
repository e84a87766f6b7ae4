# cm_assets — two commands on a fresh machine with Python 3.11:
#   make demo   set up, start the embedded replica, run the main job, print the summary
#   make test   set up and run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test demo dev browser services bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q -p $(BIN)/python -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Headless Chromium for the browser test (Debian package; Playwright's own download is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: install it (apt-get install chromium) for the browser test"; fi; }

# PostgreSQL and Redis for the deployment-profile tests (Debian packages; the tests start their own
# throw-away servers on free ports and never use the system services).
services:
	@command -v redis-server >/dev/null 2>&1 && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server >/dev/null; \
	  else echo "postgresql/redis-server missing: install them (apt-get install postgresql redis-server) for the deploy tests"; fi; }

test: $(STAMP) browser services
	$(BIN)/pytest -m "not celery"

demo: $(STAMP)
	$(BIN)/cm-assets demo

dev: $(STAMP)
	$(BIN)/cm-assets dev

bench: $(STAMP)
	$(BIN)/python bench/replica_bench.py
	$(BIN)/python bench/client_bench.py
	$(BIN)/python bench/graph_bench.py
	$(BIN)/python bench/freshness_latency.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
