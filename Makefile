# Two commands for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard locales/*/LC_MESSAGES/messages.po))
DEMO_PEOPLE ?= 2000
PORT ?= 8080

.PHONY: run test lint messages install clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) $(CATALOGUES)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile --statistics -d locales -D messages -l $* 2>&1 | grep -v "^compiling" || true
	@test -f $@

# The local sandbox (Bot API emulator + chat page) at 127.0.0.1:$(PORT), on the demo database.
# Another port: make run PORT=8090.
run: install
	$(PY) -m core migrate
	$(PY) -m core seed --people $(DEMO_PEOPLE) --if-empty
	$(PY) -m sandbox --port $(PORT)

# First what the suite needs from the machine: PostgreSQL running, Debian's chromium.
test: install
	scripts/test-services
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Re-extract every _()/N_() string into the catalogue template and merge it.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ -o locales/messages.pot --no-location --sort-output --omit-header .
	$(VENV)/bin/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete -w 100

bench: install
	$(PY) bench/core_bench.py
	$(PY) bench/bot_bench.py
	$(PY) bench/checkin_bench.py
	$(PY) bench/ussd_bench.py
	$(PY) bench/qd130_memory_bench.py

clean:
	rm -rf $(VENV) var/*.sqlite3* $(CATALOGUES)
