# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint format install messages bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Compile the translations (.mo files are build products, not committed).
messages: install
	@if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then \
		$(BIN)/python manage.py compilemessages --ignore=.venv --verbosity 0; fi

# Quiet preparation (errors still show), then the credentials and the server: what a newcomer needs.
PORT ?= 8000
run: install messages
	@mkdir -p var
	@DJANGO_DEBUG=true $(BIN)/python manage.py migrate --noinput --verbosity 0
	@DJANGO_DEBUG=true $(BIN)/python manage.py createcachetable --verbosity 0
	@DJANGO_DEBUG=true $(BIN)/python manage.py demo_setup --port $(PORT)
	@# Every process of the Procfile (web server and job workers), as production runs them.
	@DJANGO_DEBUG=true PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho start --port $(PORT)

test: install messages
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# PostgreSQL and a real gunicorn; BENCH_ARGS="--orders 20000" for a quick run (see README, Performance).
bench: install
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/bench} $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/static .pytest_cache
