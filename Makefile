# Malan — `make run` and `make test` are the two commands; the other targets are the steps they take.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
FLASK   := FLASK_APP=run.py $(VENV)/bin/flask
HOST    ?= 127.0.0.1
PORT    ?= 8080
# An install is redone when pyproject.toml changes (the stamp carries its hash).
DEPS    := $(shell sha1sum pyproject.toml | cut -c1-12)
RUN_STAMP  := $(VENV)/.installed-run-$(DEPS)
TEST_STAMP := $(VENV)/.installed-test-$(DEPS)

.PHONY: run test install install-test translations translations-update migrate demo browser-deps \
        lint format clean manual bench bench-smoke bench-deps bench-b6

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(RUN_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e .
	rm -f $(VENV)/.installed-run-*; touch $@

$(TEST_STAMP): $(PY) pyproject.toml
	$(PY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

# Compiles every catalog under translations/ when a .po is newer than its .mo (so two `make test`
# running side by side in .ci/run never rewrite a catalog the other is reading); fuzzy entries are
# left out (no -f), as PITFALLS says.
CATALOGS := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations: $(CATALOGS)

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po | $(RUN_STAMP)
	$(VENV)/bin/pybabel compile -d translations -D messages -l $*

translations-update: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot \
	  --no-location --sort-output .
	$(VENV)/bin/pybabel update -N --ignore-obsolete -w 100 -i translations/messages.pot -d translations -D messages -l zh

migrate: install
	mkdir -p instance
	$(FLASK) db upgrade

# Loads only into an empty (or demo) database; on one with real accounts it says so and goes on.
demo: migrate
	$(FLASK) malan load-demo || echo "make: demo data not loaded (see above)"

run: demo translations
	@echo "Demo accounts (all with the same password; \`flask malan demo-accounts\` prints JSON):"
	@$(FLASK) malan demo-accounts | $(PY) -c 'import json, sys; \
	  [print("  {username:<14} {password:<16} {role:<12} {org_name} {name}".format(**a)) \
	   for a in json.load(sys.stdin)]'
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# Debian's chromium and a small CJK font for the browser tests, installed when missing and root.
browser-deps:
	@if [ -x /usr/bin/chromium ] && command -v fc-list >/dev/null && [ -n "$$(fc-list :lang=zh)" ]; then \
	  exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "browser-deps: installing chromium fonts-wqy-microhei fontconfig"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    chromium fonts-wqy-microhei fontconfig >/dev/null \
	    || echo "browser-deps: install failed; browser tests skip (and fail when CI=true)"; \
	else \
	  echo "browser-deps: not root and chromium or a CJK font is missing; browser tests will skip"; \
	fi

# 用户手册的截图 (issue 16 point 8): runs the acceptance test (Annex 1 in Chromium), which publishes
# its screenshots into instance/manual/ (git-ignored; MANUAL_DIR moves it), replacing the old ones.
# `make test` runs the same test but publishes into a temp folder: instance/ is left alone.
MANUAL_DIR ?= $(CURDIR)/instance/manual
manual: install-test translations browser-deps
	@mkdir -p instance && touch instance/.manual-start
	MANUAL_DIR=$(MANUAL_DIR) $(VENV)/bin/pytest tests/browser/test_class_lifecycle.py -q $(PYTEST_ARGS)
	@if [ "$(MANUAL_DIR)/steps.json" -nt instance/.manual-start ]; then \
	  echo "manual: screenshots published to $(MANUAL_DIR) (menu 帮助 shows them)"; \
	else echo "manual: the acceptance test published nothing to $(MANUAL_DIR)"; exit 1; fi

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .

test: install-test translations browser-deps bench-deps lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The national-scale bench (issue 7, docs/benchmarks.md): builds or reuses bench/data/*.db (0.01
# and 1.0) and the PostgreSQL database malan_bench (BENCH_PG_URL), runs B1-B5, prints the table
# and writes bench/results.json. `make bench BENCH_ARGS="--only B1,B2"` runs a part.
bench: install bench-deps
	$(PY) -m bench $(BENCH_ARGS)

bench-smoke: install bench-deps
	$(PY) -m bench --smoke $(BENCH_ARGS)

# B6 alone (issue 13): N trainees signed in submit the daily form once each, gunicorn on
# PostgreSQL (<BENCH_PG_URL>_b6, rebuilt each run) vs a bare insert endpoint. `B6_TRAINEES=2000`.
B6_TRAINEES ?= 1000
bench-b6: install bench-deps
	$(PY) -m bench.b6 --trainees $(B6_TRAINEES) $(BENCH_ARGS)

# B5 and B6: load generator (Debian wrk) and a running PostgreSQL, when root; otherwise B5 says why it skipped.
bench-deps:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then echo "bench-deps: installing wrk"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends wrk >/dev/null || echo "bench-deps: wrk install failed; B5 skips"; \
	  else echo "bench-deps: not root and wrk is missing; B5 skips"; fi; \
	fi
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432 \
	    && [ "$$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then \
	  pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | sort -V | tail -n1)" main start \
	    || echo "bench-deps: PostgreSQL did not start; B5 skips"; \
	fi

clean:
	rm -rf $(VENV) instance/malan.db tests/artifacts
