# Sightline: `make run` serves the demo site, `make test` runs the whole suite (browser tests included),
# `make test-fast` the inner loop (no slow or browser tests). They set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test test-fast install migrate demo lint pytest worker browser pdf-libs bench openapi clean guide-screenshots \
	i18n-extract i18n-update i18n-compile

$(VENV)/.installed: requirements.txt requirements-dev.txt native/rwls/rwls.c native/rwls/reduce.c native/rwls/setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed pdf-libs i18n-compile

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask seed-demo --if-empty

run: demo
	@echo "Sightline on http://$(HOST):$(PORT)/  (demo users: see README.md; password sightline-demo)"
	$(BIN)/python -m jobs.serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/python -m jobs.worker

# Lint also refuses merge-conflict markers left in any tracked file (ruff sees only Python).
lint: install
	$(BIN)/ruff check .
	@! git grep -nE '^(<<<<<<<|>>>>>>>) ' -- . 2>/dev/null || (echo "merge-conflict markers above"; exit 1)

# SIGHTLINE_REQUIRE_BROWSER makes a missing Chromium fail the browser tests instead of skipping them.
pytest: install browser
	SIGHTLINE_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

test: lint pytest

test-fast: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -m "not slow and not browser"

# Pango (and a CJK font) for WeasyPrint's plan reports in PDF.
pdf-libs:
	(ldconfig -p | grep -q libpangoft2-1.0 && fc-list :lang=zh-cn family | grep -q .) || \
	  (apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk)

# Debian's Chromium (and the fonts it recommends) for the Playwright browser tests, which drive
# /usr/bin/chromium; the browser that Playwright would download does not run here. Installed when missing,
# as root or through passwordless sudo; otherwise this says what to install and stops.
CHROMIUM := /usr/bin/chromium
APT_PACKAGES := chromium fonts-liberation
browser:
	@if [ ! -x $(CHROMIUM) ] || ! fc-list 2>/dev/null | grep -qi liberation; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; \
	  else echo "browser tests need $(CHROMIUM) and fonts: apt-get install $(APT_PACKAGES) (or run make test-fast)"; \
	       exit 1; fi; \
	  echo "installing $(APT_PACKAGES) for the browser tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@$(CHROMIUM) --headless --no-sandbox --disable-gpu --version >/dev/null 2>&1 || \
	  (echo "$(CHROMIUM) is installed but does not start"; exit 1)

# The user guide's screenshots (docs/guide/img/<locale>/), taken by its browser journeys on the demo data in
# English and Simplified Chinese (tests/browser/test_guide.py; `make test` runs the same journeys into a temp folder).
guide-screenshots: install browser
	SIGHTLINE_REQUIRE_BROWSER=1 SIGHTLINE_GUIDE_DIR=docs/guide/img $(BIN)/python -m pytest -q -p no:cacheprovider tests/browser/test_guide.py

bench: install
	$(BIN)/python -m bench.run_all $(if $(DATA),--data $(DATA))

# Regenerate docs/openapi.yaml after changing an endpoint (tests/web/test_openapi.py checks it is current).
openapi: install
	$(BIN)/flask openapi --output docs/openapi.yaml

# Translations: translations/<locale>/LC_MESSAGES/messages.po (zh_CN is zh_Hans_CN, as Babel names it). Extract the
# marked strings, merge them into the catalogues (then translate the new msgids in zh_Hans_CN), compile the .mo files
# the app reads. tests/i18n runs the same extraction (POT=...) and fails on any msgid zh_CN lacks.
I18N_SOURCES := accounts admin api audit compliance dashboard findings guide inspection inventory jobs plans templates static/js \
	app.py i18n.py security.py web.py
POT ?= translations/messages.pot
i18n-extract:
	$(BIN)/pybabel --quiet extract -F babel.cfg -k t -k field --no-location --sort-output -o $(POT) $(I18N_SOURCES)

i18n-update: i18n-extract
	$(BIN)/pybabel --quiet update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

i18n-compile: $(VENV)/.installed
	$(BIN)/pybabel --quiet compile -d translations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
