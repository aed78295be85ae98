# Malan — every routine task has a target. `make run` and `make test` are the two that matter.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PIP     := $(VENV)/bin/pip
FLASK   := FLASK_APP=run.py $(VENV)/bin/flask
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST    ?= 127.0.0.1
PORT    ?= 8080

.PHONY: run test install lint format translations translations-update migrate demo serve browser-deps bench clean

$(VENV)/bin/python:
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(VENV)/bin/python pyproject.toml
	$(PIP) install -q -e '.[test]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

install: $(STAMP)

translations: install
	$(VENV)/bin/pybabel compile -f -d translations -D messages -l zh >/dev/null 2>&1 || $(VENV)/bin/pybabel compile -d translations -D messages

translations-update: install
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _ -k gettext -o translations/messages.pot --no-location --sort-output .
	$(VENV)/bin/pybabel update -N -i translations/messages.pot -d translations -D messages -l zh

migrate: install
	mkdir -p instance
	$(FLASK) db upgrade

demo: migrate translations
	$(FLASK) malan load-demo

run: demo
	@echo "Demo accounts (flask malan demo-accounts prints them as JSON):"
	@$(FLASK) malan demo-accounts | $(PY) -c "import json,sys; [print(f\"  {a['username']:<16} {a['password']}  {a['role']:<12} {a['org_name']}\") for a in json.load(sys.stdin)]"
	@echo "Serving on http://$(HOST):$(PORT)"
	$(FLASK) run --host $(HOST) --port $(PORT)

# Debian's chromium and a small CJK font for the browser tests, when root and missing.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
	      || echo "browser-deps: could not install chromium; browser tests will skip"; \
	  else echo "browser-deps: not root; browser tests skip unless /usr/bin/chromium exists"; fi; \
	fi

lint: install
	$(VENV)/bin/ruff check app views models security reports tests run.py

format: install
	$(VENV)/bin/ruff format app views models security reports tests run.py

test: install translations browser-deps lint
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) instance/malan.db tests/artifacts
