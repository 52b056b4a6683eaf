# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck pytest bench mutate soak seed clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstalled whenever pyproject.toml changes: .runtime is what running needs (`make run`),
# .installed adds the dev extra that linting and testing need.
$(VENV)/.runtime: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

data/secret_key: | $(PY)
	mkdir -p data
	$(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > $@
	chmod 600 $@

# Development settings for every `manage.py` run in this checkout (git ignores the file; an
# existing one is left as it is). The secret key stays in data/secret_key.
.env:
	printf '# Written by `make run`: this checkout is for development. Production sets its own\n# environment (docs/deployment.md) and must not deploy this file.\nDEBUG=1\n' > $@

run: $(VENV)/.runtime data/secret_key .env
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo --host $(HOST) --port $(PORT)
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	DEBUG=1 $(VENV)/bin/mypy .

pytest: $(VENV)/.installed
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(VENV)/.installed
	$(PY) -m tests.bench.run

# Mutation testing of the security core ([tool.mutmut] in pyproject.toml, docs/testing.md):
# hours on a small machine, so not part of `make test` or CI. MUTANTS narrows the run to some
# mutants by name (`make mutate MUTANTS='policies.cors*'`); results survive in mutants/.
$(VENV)/.mutate: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev,mutate]'
	touch $@

mutate: $(VENV)/.mutate
	nice $(VENV)/bin/mutmut run $(MUTANTS)
	$(VENV)/bin/mutmut results

# Faults under load (docs/reliability.md): its own Redis, PostgreSQL and two gunicorn instances.
# SOAK_SCALE=full|short, SOAK_GATE=all|safety.
soak: $(VENV)/.installed
	SOAK_SCALE=$(or $(SOAK_SCALE),full) SOAK_GATE=$(or $(SOAK_GATE),all) $(PY) -m tests.soak.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis artifacts mutants
