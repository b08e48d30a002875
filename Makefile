# The two commands users run: `make lab` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab demo test install install-test unit notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

install: $(BIN)/python
	$(BIN)/pip install -q -e . jupyterlab

install-test: install
	$(BIN)/pip install -q -e ".[test]" "torch==2.13.0"

lab: install
	cd notebooks && ../$(BIN)/jupyter lab $(ROOT_FLAG) quickstart.ipynb

demo: install-test
	rm -rf notebooks/.nbmodels
	cd notebooks && ../$(BIN)/jupyter execute quickstart.ipynb
	$(BIN)/nbmodels --home notebooks/.nbmodels runs
	$(BIN)/nbmodels --home notebooks/.nbmodels models
	$(BIN)/nbmodels --home notebooks/.nbmodels versions breast-cancer

test: install-test
	$(BIN)/python -m pytest tests
	rm -rf notebooks/.nbmodels
	$(BIN)/python -m pytest --nbval-lax notebooks/ -p no:cacheprovider

clean:
	rm -rf $(VENV) notebooks/.nbmodels build dist
