# The two commands: `make run` and `make test`. Everything else is set up by them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint bench clean deploy-tools catalogs compile-catalogs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[server,test]"
	touch $(STAMP)

## make catalogs: extract the marked strings into hierarchy/locale/*/daiban.po (then translate zh_CN)
catalogs: $(STAMP)
	$(BIN)/python tools/catalogs.py update
	$(BIN)/python tools/catalogs.py compile

compile-catalogs: $(STAMP)
	$(BIN)/python tools/catalogs.py compile

## make run: install, migrate and seed var/daiban.sqlite, then serve on 127.0.0.1:8000
run: $(STAMP) compile-catalogs
	$(BIN)/daiban migrate
	$(BIN)/daiban seed
	@echo "Demo sign-in: user a640502100 (town agent), dispatcher or admin; password $${DAIBAN_DEMO_PASSWORD:-demo}"
	@echo "API on http://127.0.0.1:8000 — try /api/v1/units/640500/children and /schema"
	$(BIN)/daiban serve --no-migrate

## make test: lint, import contracts, types (mypy --strict), then the whole suite on SQLite and PostgreSQL
test: $(STAMP) compile-catalogs check
	$(BIN)/pytest -q --durations=15

check: $(STAMP) compile-catalogs
	$(BIN)/ruff check .
	$(BIN)/python tools/catalogs.py check
	$(BIN)/lint-imports
	$(BIN)/mypy hierarchy sync server seeds cli console tools/catalogs.py
	$(BIN)/daiban migrate --check

## make bench: every benchmark (PostgreSQL for all but the console and uploads); each prints its ratio
bench: $(STAMP)
	$(BIN)/python bench/hierarchy.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/sweep.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/scale.py
	$(BIN)/python bench/create.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/console.py
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/signin.py
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/national.py

## make deploy-tools: HAProxy, docker-compose and wrk from Debian's packages (as root), for the
## deploy/ checks, the loopback cluster test and bench/cluster.py; without them those tests skip (not under CI).
deploy-tools:
	@missing=""; \
	command -v haproxy >/dev/null || missing="$$missing haproxy"; \
	command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	command -v wrk >/dev/null || missing="$$missing wrk"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

clean:
	rm -rf var .pytest_cache
