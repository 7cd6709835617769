# Two commands matter: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TECNICO := $(VENV)/bin/tecnico
HOST ?= 127.0.0.1
PORT ?= 8000
# pytest workers; 2 cores on CI
JOBS ?= 2

.PHONY: install demo test lint bench-solomon migration clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed

# The demo company's name and CNPJ on its invoices (override in the environment).
demo: export TECNICO_COMPANY_NAME ?= Tecnico Climatização e Refrigeração Ltda
demo: export TECNICO_COMPANY_TAX_ID ?= 11.222.333/0001-81
demo: export TECNICO_COMPANY_ADDRESS ?= Rua Lopes Chaves, 120|01154-010 São Paulo SP
demo: install
	mkdir -p var
	$(TECNICO) db upgrade
	@# Prints the URLs of the API docs, the planned day's board and a route list (kept in
	@# var/demo-urls.txt; shown again when the database is already seeded).
	$(TECNICO) demo seed --if-empty --base-url http://$(HOST):$(PORT)
	@echo ""
	$(TECNICO) serve --host $(HOST) --port $(PORT)

test: install
	$(PY) -m pytest -n $(JOBS) -q

lint: install
	$(VENV)/bin/ruff check .

# Regenerate the single pre-release migration from the models.
migration: install
	$(PY) -m dispatch.migrations.regen

clean:
	rm -rf $(VENV) var/*.db .pytest_cache
