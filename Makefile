# cm_assets — two commands on a fresh machine with Python 3.11:
#   make demo   set up, start the embedded replica, run the main job, print the summary
#   make test   set up and run the whole test suite (installs chromium and gdal-bin when root)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test test-shifted demo dev browser gdal bench clean

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

# GDAL's ogrinfo for the GIS export test (Debian gdal-bin; the test skips with a reason without it).
gdal:
	@command -v ogrinfo >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gdal-bin >/dev/null; \
	  else echo "ogrinfo missing: install it (apt-get install gdal-bin) for the GIS export test"; fi; }

test: $(STAMP) browser gdal
	$(BIN)/pytest

# The end-to-end and browser tests as if the date were SHIFT_DAYS later: every Python process of the
# run (pytest, replica, dagster dev and its children) sees the shifted wall clock.
SHIFT_DAYS ?= 60
test-shifted: $(STAMP) browser
	PYTHONPATH=cm_assets_tests/clockshift CM_ASSETS_TEST_CLOCK_SHIFT_DAYS=$(SHIFT_DAYS) $(BIN)/pytest cm_assets_tests/e2e

demo: $(STAMP)
	$(BIN)/cm-assets demo

dev: $(STAMP)
	$(BIN)/cm-assets dev

bench: $(STAMP)
	$(BIN)/python bench/replica_bench.py
	$(BIN)/python bench/client_bench.py
	$(BIN)/python bench/graph_bench.py
	$(BIN)/python bench/freshness_latency.py
	$(BIN)/python bench/report_bench.py --write docs/pipeline.md

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
