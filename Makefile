# Sightline: `make run` serves the demo site, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := app

.PHONY: run test install migrate demo lint pytest worker browser bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt native/rwls/rwls.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/flask db upgrade

demo: migrate
	$(BIN)/flask seed-demo --if-empty

run: demo
	@echo "Sightline on http://$(HOST):$(PORT)/  (demo users: see README.md; password sightline-demo)"
	$(BIN)/python -m jobs.serve --host $(HOST) --port $(PORT)

worker: install
	$(BIN)/python -m jobs.worker

lint: install
	$(BIN)/ruff check .

pytest: install
	$(BIN)/python -m pytest -q

test: lint pytest

# Debian's Chromium for the Playwright browser tests (the bundled browser download does not work here).
browser:
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)

bench: install
	$(BIN)/python -m bench.run_all $(if $(DATA),--data $(DATA))

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
