# The two commands users run: `make lab` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
NPM ?= npm
CHROMIUM := /usr/bin/chromium
# The JupyterLab panel: TypeScript in labextension/, built into the package (git-ignored).
LABEXT := src/nbmodels/labextension/static/style.js
LABEXT_SOURCES := $(wildcard labextension/src/*.ts labextension/style/*) labextension/package.json labextension/tsconfig.json
LABEXT_LINK := $(VENV)/share/jupyter/labextensions/nbmodels
WITH_VENV := PATH=$(CURDIR)/$(BIN):$$PATH

.PHONY: lab demo test install install-test unit notebooks clean bench bench-quick node-deps labextension chromium e2e readme-image

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

# pip builds the labextension (hatch-jupyter-builder) and copies it into the venv; the develop
# link then makes `make labextension` rebuilds live in `make lab`.
install: $(BIN)/python
	$(BIN)/pip install -q -e . jupyterlab
	@test -L $(LABEXT_LINK) || $(WITH_VENV) $(BIN)/jupyter labextension develop --overwrite . >/dev/null

install-test: install
	$(BIN)/pip install -q -e ".[test]" "torch==2.13.0"

lab: install labextension
	cd notebooks && ../$(BIN)/jupyter lab $(ROOT_FLAG) quickstart.ipynb

demo: install-test
	rm -rf notebooks/.nbmodels
	cd notebooks && ../$(BIN)/jupyter execute quickstart.ipynb
	$(BIN)/nbmodels --home notebooks/.nbmodels runs
	$(BIN)/nbmodels --home notebooks/.nbmodels models
	$(BIN)/nbmodels --home notebooks/.nbmodels versions breast-cancer

test: install-test
	$(BIN)/python -m pytest tests
	$(MAKE) bench-quick
	rm -rf notebooks/.nbmodels
	$(BIN)/python -m pytest --nbval-lax notebooks/ -p no:cacheprovider
	$(MAKE) e2e

# ---- JupyterLab panel: node deps, build, browser test --------------------------------------------
labextension/node_modules/.package-lock.json: labextension/package-lock.json
	cd labextension && $(NPM) ci --no-audit --no-fund

e2e/node_modules/.package-lock.json: e2e/package-lock.json
	cd e2e && $(NPM) ci --no-audit --no-fund

node-deps: labextension/node_modules/.package-lock.json e2e/node_modules/.package-lock.json

$(LABEXT): $(LABEXT_SOURCES) labextension/node_modules/.package-lock.json | $(BIN)/python
	cd labextension && $(WITH_VENV) $(NPM) run build

labextension: $(LABEXT)

$(CHROMIUM):
	$(SUDO) apt-get update
	$(SUDO) apt-get install -y --no-install-recommends chromium fonts-liberation

chromium: $(CHROMIUM)

# Each e2e/*.test.mjs starts JupyterLab on a temp folder and drives it with playwright-core;
# screenshots go to test-output/<test>/ (panel.test.mjs: the Models panel).
e2e: install labextension $(CHROMIUM) e2e/node_modules/.package-lock.json
	cd e2e && for test in *.test.mjs; do \
		JUPYTER=$(CURDIR)/$(BIN)/jupyter OUT=$(CURDIR)/test-output/$${test%.test.mjs} node $$test || exit 1; \
	done

# retake the README's screenshot of the panel (docs/images/panel.png) with the browser test
readme-image:
	UPDATE_README_IMAGE=1 $(MAKE) e2e

# Side-by-side benchmarks vs MLflow and raw pickle/joblib (MLflow: a bench-only dependency).
bench: install
	$(BIN)/pip install -q -e ".[bench]"
	$(BIN)/python bench/run.py

# Small sizes, one repetition, no MLflow: keeps the suite runnable (CI); writes to test-output/.
bench-quick: install-test
	$(BIN)/python bench/run.py --quick --output test-output/bench-quick

clean:
	rm -rf $(VENV) notebooks/.nbmodels build dist test-output src/nbmodels/labextension \
		labextension/node_modules labextension/lib labextension/tsconfig.tsbuildinfo e2e/node_modules
