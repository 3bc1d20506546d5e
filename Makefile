# Sunshine Draw — the two commands of the README, and a few more.
#   make run    virtualenv, install, migrate SQLite, load the demo year, two demo witnesses, gunicorn on GUNICORN_BIND (127.0.0.1:8000)
#   make check  lint, types and the unit tests (no browser, reliability, benchmark or slow tests): the quick answer
#   make test   install the test tools (and Chromium when missing), lint, types, the whole suite (what CI runs)
#   make bench  the benchmarks B1–B5, written to docs/benchmarks.md
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi:app

.PHONY: run check test lint types unit browser-deps go-deps browser-js bench-deps demo bench clean translations screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# zh-TW translations: the .po files are the source, the .mo files are built (and git-ignored).
translations: $(VENV)/.runtime
	@if ls service/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
	  $(BIN)/pybabel compile -f -d service/translations >/dev/null; fi

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# The demo's two independent witnesses (docs/witness.md) run beside gunicorn on 127.0.0.1:8701
# and :8702, are sent the latest checkpoint at once, and stop with it.
run: $(VENV)/.runtime translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load
	@$(BIN)/flask demo logins
	@witnesses="$$($(BIN)/flask demo witnesses)" && eval "$$witnesses" && trap 'kill $$(jobs -p) 2>/dev/null' EXIT && \
	  { $(BIN)/flask witnesses submit >/dev/null 2>&1 & } && \
	  $(BIN)/gunicorn --config gunicorn.conf.py wsgi:app

demo: $(VENV)/.runtime translations
	$(BIN)/flask db upgrade
	$(BIN)/flask demo load

# Debian's Chromium is the browser for the Playwright tests; Playwright's own download is not used.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || { echo "could not install chromium: the browser tests need /usr/bin/chromium"; exit 1; }; \
	fi

# Go's own tlog and note packages (Debian's golang-golang-x-mod-dev) read the served tiles in
# tests/public_site/test_tiles_go.py: an independent implementation of C2SP tlog-tiles. Without
# them that one test is skipped, saying why (docs/tiles.md records a manual run).
go-deps:
	@if ! command -v go >/dev/null || [ ! -f /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog/tile.go ]; then \
	  echo "installing Debian's Go and golang.org/x/mod for the tile check"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null) \
	    || echo "could not install Go: tests/public_site/test_tiles_go.py will be skipped"; \
	fi

# The repository's screenshots (docs/screenshots/) need a CJK font to render Chinese.
screenshots: $(VENV)/.dev translations browser-deps
	@fc-list | grep -qi "noto.*cjk" || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null)
	$(BIN)/python -m tests.browser.screenshots docs/screenshots

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(VENV)/.dev
	$(BIN)/mypy

# Tests run on every core (pytest-xdist: a file's tests to one worker, as they share module
# fixtures and, in the browser, a server's state — so long tests get files of their own, like the
# crash trials; each worker has its own PostgreSQL database and Redis number, tests/builders.py),
# their scratch files in memory (/dev/shm) where the machine has it: SQLite still syncs every
# commit, to RAM.
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n auto --dist loadfile
TEST_TMPDIR := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && echo /dev/shm || echo $${TMPDIR:-/tmp})

# The unit tier: everything but the browser, reliability (real gunicorn, SIGKILL) and benchmark
# tests and those marked slow; on SQLite only unless CHECK_DATABASE_URL names a PostgreSQL database.
UNIT_TESTS := --ignore=tests/browser --ignore=tests/reliability --ignore=tests/benchmarks -m "not slow and not browser"

unit: $(VENV)/.dev translations
	TMPDIR=$(TEST_TMPDIR) TEST_DATABASE_URL=$(CHECK_DATABASE_URL) $(PYTEST) $(UNIT_TESTS)

check: lint types unit

# axe-core for the accessibility test, from the npm registry at the version the lock file pins.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@command -v npm >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null) \
	  || { echo "could not install npm: the accessibility test needs axe-core"; exit 1; }
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	touch $@

browser-js: $(AXE)

test: $(VENV)/.dev translations browser-deps go-deps browser-js lint types
	TMPDIR=$(TEST_TMPDIR) $(PYTEST)

# wrk (Debian's) loads the public site in B4, as Chromium runs the browser verifier in B3.
bench-deps: browser-deps
	@if ! command -v wrk >/dev/null; then \
	  echo "installing Debian's wrk for the HTTP benchmark"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null) \
	    || { echo "could not install wrk: benchmark B4 needs it"; exit 1; }; \
	fi

# B1–B5, each writing its own section of docs/benchmarks.md (about 10 minutes). B5 uses the
# PostgreSQL server of BENCH_DATABASE_URL or TEST_DATABASE_URL (else postgres@127.0.0.1:5432).
bench: $(VENV)/.dev translations bench-deps
	$(BIN)/python benchmarks/draw_engine.py
	$(BIN)/python benchmarks/verify_bundle.py
	$(BIN)/python benchmarks/browser_verify.py
	$(BIN)/python benchmarks/http_load.py
	$(BIN)/python benchmarks/service_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules
