# CoachLab: `make demo` starts the platform with a demo pilot; `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 5000
BIN    := $(VENV)/bin
FLASK  := env -u DATABASE_URL PORT=$(PORT) $(BIN)/flask --app app
PYTEST_WORKERS ?= 2
MAIL_PORT ?= 8025
# make demo: its mail goes to a local catcher that keeps each message in instance/outbox/
DEMO_MAIL := MAIL_SERVER=127.0.0.1 MAIL_PORT=$(MAIL_PORT) DEMO_OUTBOX=instance/outbox

.PHONY: demo test test-slow bench-load install install-dev clean messages
# The rep side's translations: catalogues (.po) under version control, compiled (.mo) here, never committed.
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED   := $(CATALOGUES:.po=.mo)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the requirement files change. CoachLab itself is installed editable
# (`pip install -e .`), so bench/ scripts and tools import it from anywhere.
$(VENV)/.installed: requirements.txt pyproject.toml $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

install: $(VENV)/.installed $(COMPILED)
install-dev: $(VENV)/.installed-dev $(COMPILED)

## messages: after changing a rep-facing string, extract them all and update every catalogue (then translate
##           the new entries; tests/test_catalogues.py fails while one is missing)
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output --no-wrap \
	  --project CoachLab --copyright-holder CoachLab -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --ignore-obsolete

## demo: fresh demo pilot in instance/coachlab.sqlite (replaces its data), served on 127.0.0.1:$(PORT) with a queue
##       consumer and a mail catcher: every message sent lands in instance/outbox/, read at /demo/outbox
demo: install
	$(FLASK) db upgrade
	$(FLASK) demo --reset
	rm -rf instance/outbox  # the last demo's messages: their links are to data just replaced
	@echo "Serving CoachLab on http://127.0.0.1:$(PORT), mail at http://127.0.0.1:$(PORT)/demo/outbox  (Ctrl-C to stop)"
	env -u DATABASE_URL -u QUEUE_URL -u REDIS_URL PORT=$(PORT) $(DEMO_MAIL) $(BIN)/python -m surveys.demo_runner -- \
	  $(BIN)/gunicorn --workers 1 --threads 8 --bind 127.0.0.1:$(PORT) 'app:create_app()'

## test: the whole suite except the long simulations (SQLite; TEST_DATABASE_URL=postgresql://… for PostgreSQL)
test: install-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

## test-slow: the long simulations (false-positive rates, power), run once by .ci/run
test-slow: install-dev
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m slow $(PYTEST_ARGS) || [ $$? -eq 5 ]  # 5: none collected

## bench-load: survey submits under load through gunicorn on SQLite and PostgreSQL (needs wrk)
bench-load: install-dev
	$(BIN)/python -m bench.load_bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(COMPILED)
