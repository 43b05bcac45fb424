# Two commands matter: 'make run' starts the product, 'make test' runs the tests.
# Both create the virtual environment in .venv and install what they need first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 1
# DEMO=0 make run: no demo collection on the first start.
DEMO ?= 1

.PHONY: run dev test test-browser install install-dev clean-venv

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	# FlagEmbedding 1.2.11's sdist lacks a vocabulary file Visualized BGE needs (see the module).
	$(PY) -m media_index.embedding.eva_clip_setup
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

RUN_ARGS = --host $(HOST) --port $(PORT) --workers $(WORKERS) $(if $(filter 0,$(DEMO)),--no-demo,)

# The product: gunicorn, DEBUG off.
run: $(VENV)/.installed
	$(PY) -m devstack run $(RUN_ARGS)

# Development: Django's runserver with autoreload and DEBUG on. Never expose it.
dev: $(VENV)/.installed
	$(PY) -m devstack run --dev $(RUN_ARGS)

# The browser tests need a Chromium: found, or installed (see the script).
test-browser:
	sh tools/ensure_browser.sh $(PY)

test: $(VENV)/.installed-dev test-browser
	$(PY) -m devstack exec -- $(PY) -m pytest $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
