# cm_assets — two commands on a fresh machine with Python 3.11:
#   make demo   set up, start the embedded replica, run the main job, print the summary
#   make test   set up and run the whole test suite (installs the Debian packages it drives when root)
#   make test-fast  the fast layer only (tests marked ``fast``), under a minute
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup test test-fast test-shifted demo dev system-packages bench clean

# Bytecode is compiled at install: where PYTHONDONTWRITEBYTECODE is set (it is on our build machines) nothing is
# ever cached and every process (each Dagster run and step worker, code server, CLI) would compile
# dagster, pandas, rasterio... from source again: importing the definitions took 11 s instead of 4 s.
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip uv
	$(BIN)/uv pip install -q --compile-bytecode -p $(BIN)/python -e '.[dev]'
	$(BIN)/python -m compileall -q cm_assets >/dev/null
	touch $(STAMP)

setup: $(STAMP)

# Debian packages the tests drive: chromium (browser test; Playwright's own download is not used),
# gdal-bin (ogrinfo for the GIS export test), postgresql and redis-server (the deployment-profile tests
# start their own throw-away servers on free ports). One apt-get run installs whatever is missing;
# without root the tests that need a missing one skip with the reason.
DEBIAN_PACKAGES := chromium gdal-bin postgresql redis-server
system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages (the tests that need them skip): $$missing"; fi; fi

test: $(STAMP) system-packages
	$(BIN)/pytest -n 2 --dist loadgroup

# The fast layer: asset unit tests against an in-process replica plus the pure-function tests;
# one process, nothing to install or start.
test-fast: $(STAMP)
	$(BIN)/pytest -m fast -q

# The end-to-end and browser tests as if the date were SHIFT_DAYS later: every Python process of the
# run (pytest, replica, dagster dev and its children) sees the shifted wall clock.
SHIFT_DAYS ?= 60
test-shifted: $(STAMP) system-packages
	PYTHONPATH=cm_assets_tests/clockshift CM_ASSETS_TEST_CLOCK_SHIFT_DAYS=$(SHIFT_DAYS) $(BIN)/pytest cm_assets_tests/e2e

demo: $(STAMP)
	$(BIN)/cm-assets demo

dev: $(STAMP)
	$(BIN)/cm-assets dev

bench: $(STAMP)
	$(BIN)/python bench/replica_bench.py
	$(BIN)/python bench/client_bench.py --write docs/client.md
	$(BIN)/python bench/graph_bench.py
	$(BIN)/python bench/freshness_latency.py
	$(BIN)/python bench/report_bench.py --write docs/pipeline.md
	$(BIN)/python bench/vs_seed_reader.py
	$(BIN)/python bench/rate_budget_bench.py --runs 1
	$(BIN)/python bench/rate_budget_bench.py --runs 2

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
