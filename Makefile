# Petition Desk: developer commands.  Everything runs from the project's own .venv, which the
# first target that needs it creates (and refreshes whenever pyproject.toml changes).
#
#   make run       API + worker (+ embedded PostgreSQL/Redis unless DATABASE_URL/REDIS_URL)
#   make test      pytest (PYTEST_ARGS="-k foo -x" to pass options)
#   make test-browser   the dashboard in headless Chromium (needs Debian's chromium; screenshot in artifacts/)
#   make test-faults    servers killed and restarted under load: nothing lost, nothing doubled
#   make test-ha        the engines fail over: PostgreSQL's synchronous standby promoted and the Redis
#                       master killed mid-burst (2 APIs + 2 workers): nothing lost, nothing doubled
#   make test-docs      the README's walkthrough as written, and the TypeScript client against the contract
#   make test-demo      make demo into a database of its own: the shapes of the dashboard, bulletin, scores
#   make test-fuzz      schemathesis: every check and the stateful phase against the running API,
#                       then the bounds property test with more examples (PD_BOUNDS_EXAMPLES)
#   make lint      ruff check, ruff format --check, mypy, lint-imports (the layers of ARCHITECTURE.md)
#   make format    ruff format + ruff check --fix
#   make openapi   regenerate openapi.yaml
#   make messages  extract the errors' message ids into api/locales/messages.pot, update the zh_Hans .po
#   make client-ts   TypeScript client generated from openapi.yaml into artifacts/client-ts/, example checked by tsc
#   make fonts     install the CJK font of the written notices (npm package, checked by hash)
#   make migrate   alembic upgrade head (same database as `make run`)
#   make demo      load a demo county with a year of petition work into that database (once)
#   make rotate-pii   re-encrypt petitioners' numbers under the newest of PII_KEYS
#   make archive-audit BEFORE=YYYY-MM   detach, dump (.data/archive) and drop the audit
#                     trail's months before BEFORE (see deploy/README: Keeping years of data)
#   make backup    the database (pg_dump), the embedded Redis's AOF and the dev secrets into
#                  .data/backups/<UTC time>/ (see deploy/README: Backups)
#   make restore FROM=.data/backups/<time>   that database into an empty one (CLEAN=1: replace
#                  what is there); Redis's jobs are rebuilt from the outbox by the next sweep
#   make reindex-search   recompute every case's search tokens (after migration 0030, or a new PII_HASH_KEY)
#   make bench     every benchmark (bench-delivery, bench-dashboard, bench-intake, bench-soak, bench-search,
#                  bench-province, bench-retention)
#   make bench-delivery   deadlines falling due together → flags and messages (BENCH_ARGS=...)
#   make bench-dashboard  the county summary and a 304 poll at 10k, 100k and 1M cases
#   make bench-intake     POST /v1/cases under wrk against a bare Starlette+asyncpg INSERT
#   make bench-search     the case search at 10k, 100k and 1M cases beside its bare SQL
#   make bench-soak       10 minutes at a steady rate: errors and the RSS of API and worker
#   make bench-retention  a year of outbox, audit and idempotency rows: sizes before and after the purge,
#                         VACUUM and archive-audit (BENCH_ARGS=--cases 100000)
#   make bench-province   a province (100 counties, 30,000 villages): summaries at 100k and 2M cases,
#                         registration beside a single county, storage per million cases (~30 min)
#   make clean     delete .data (embedded databases, queued jobs, dev secrets)

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# The stamp records which pyproject.toml the venv was installed from.
STAMP := $(VENV)/.installed-from-pyproject
PYTEST_ARGS ?=

# python3.11, else python3 if that is a 3.11
PYTHON_311 := $(shell \
	if command -v python3.11 >/dev/null 2>&1; then echo python3.11; \
	elif command -v python3 >/dev/null 2>&1 && \
	     python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; \
	then echo python3; fi)

.PHONY: help venv .venv run demo fonts test test-browser test-docs test-demo test-faults test-ha test-fuzz lint format openapi messages migrate rotate-pii archive-audit backup restore clean bench bench-delivery bench-dashboard bench-intake bench-soak bench-search bench-province bench-retention reindex-search client-ts

help:
	@sed -n 's/^#   //p' Makefile

venv .venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@if [ -z "$(PYTHON_311)" ]; then \
		echo "make: Python 3.11 is required (no python3.11, and python3 is not 3.11)" >&2; \
		exit 1; \
	fi
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then \
		echo "+ $(PYTHON_311) -m venv $(VENV)"; \
		rm -rf $(VENV) && $(PYTHON_311) -m venv $(VENV); \
	fi
	$(PY) -m pip install -c constraints.txt -e '.[dev]'
	@touch $@

run: $(STAMP) fonts
	$(PY) -m shared.devrun

fonts: $(STAMP)
	$(PY) -m shared.fonts

# Two pytest-xdist workers, each with its own embedded PostgreSQL and Redis; a file's tests stay
# on one worker (TEST_WORKERS=0 runs them in one process).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The `browser` extra (Playwright's Python client; it drives /usr/bin/chromium, downloads none).
BROWSER_STAMP := $(VENV)/.installed-browser-extra

$(BROWSER_STAMP): $(STAMP)
	$(PY) -m pip install -c constraints.txt -e '.[dev,browser]'
	@touch $@

test-browser: $(BROWSER_STAMP)
	$(PY) -m pytest -q tests/browser $(PYTEST_ARGS)

# The README walked as written against `make run`'s service, and the TypeScript client built
# and type-checked against openapi.yaml (about a minute): apart from `make test`.
test-docs: $(STAMP)
	$(PY) -m pytest -q tests/docs $(PYTEST_ARGS)

# The demo county's year played through the app (minutes): apart from `make test`.
test-demo: $(STAMP)
	$(PY) -m pytest -q tests/demo $(PYTEST_ARGS)

# Its own PostgreSQL and Redis on spare ports (it kills them); KEEP_FAULT_LOGS=1 keeps the logs.
test-faults: $(STAMP)
	$(PY) -m pytest -q tests/faults $(PYTEST_ARGS)

# Failover of the engines themselves (issue 25): PostgreSQL primary + synchronous standby, Redis
# master + replica + three Sentinels, from the embedded packages' binaries (about a minute).
test-ha: $(STAMP)
	$(PY) -m pytest -q tests/ha $(PYTEST_ARGS)

# FUZZ_ARGS="--max-examples 100 --seed 3" to look further than CI does
FUZZ_ARGS ?=
PD_BOUNDS_EXAMPLES ?= 100
test-fuzz: $(STAMP)
	$(PY) -m tests.fuzz $(FUZZ_ARGS)
	PD_BOUNDS_EXAMPLES=$(PD_BOUNDS_EXAMPLES) $(PY) -m pytest -q tests/test_bounds.py -k inside_never

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy api worker shared tests
	$(VENV)/bin/lint-imports --no-cache

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

openapi: $(STAMP)
	$(PY) -m api.openapi_dump

# The one message catalogue (api/kit/i18n.py): ids from the code, then the Chinese .po updated
# (new ids empty, vanished ones obsolete: tests/test_i18n.py fails until they are translated).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg --no-default-keywords -k Message -k N_ \
		--add-location=file --sort-output --project=petition-desk -o api/locales/messages.pot api
	$(VENV)/bin/pybabel update -i api/locales/messages.pot -d api/locales -D messages -l zh_Hans \
		--ignore-obsolete

# clients/typescript: openapi-typescript writes the types of openapi.yaml to artifacts/client-ts/
# and tsc checks them with the client and its example (strict), so a contract change that breaks
# the example fails here; `npm ci` installs exactly the committed lockfile.
client-ts:
	rm -rf artifacts/client-ts
	cd clients/typescript && npm ci --no-audit --no-fund
	cd clients/typescript && npm run --silent generate
	cd clients/typescript && npm run --silent typecheck

migrate: $(STAMP)
	$(PY) -m shared.devrun migrate

demo: $(STAMP)
	$(PY) -m shared.devrun demo

rotate-pii: $(STAMP)
	$(PY) -m shared.devrun rotate-pii

archive-audit: $(STAMP)
	AUDIT_ARCHIVE_BEFORE=$(BEFORE) $(PY) -m shared.devrun archive-audit

backup: $(STAMP)
	$(PY) -m shared.devrun backup

restore: $(STAMP)
	@if [ -z "$(FROM)" ]; then echo "make restore FROM=.data/backups/<time> (CLEAN=1 to replace)" >&2; exit 2; fi
	$(PY) -m shared.devrun restore "$(FROM)" $(if $(CLEAN),--clean)

reindex-search: $(STAMP)
	$(PY) -m shared.devrun reindex-search

BENCH_ARGS ?=
bench: bench-delivery bench-dashboard bench-intake bench-soak bench-search bench-province bench-retention

bench-delivery: $(STAMP)
	$(PY) -m tests.bench.bench_delivery $(BENCH_ARGS)

bench-dashboard: $(STAMP)
	$(PY) -m tests.bench.bench_dashboard $(BENCH_ARGS)

bench-intake: $(STAMP)
	$(PY) -m tests.bench.bench_intake $(BENCH_ARGS)

bench-search: $(STAMP)
	$(PY) -m tests.bench.bench_search $(BENCH_ARGS)

bench-retention: $(STAMP)
	$(PY) -m tests.bench.bench_retention $(BENCH_ARGS)

bench-soak: $(STAMP)
	$(PY) -m tests.bench.bench_soak $(BENCH_ARGS)

# Not part of CI or `make test`: about half an hour and some 20 GB of disk (BENCH_ARGS=--quick:
# 100k then 300k cases).
bench-province: $(STAMP)
	$(PY) -m tests.bench.bench_province $(BENCH_ARGS)

clean:
	rm -rf .data
