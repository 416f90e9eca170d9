# pidlab: two commands do everything on a fresh machine.
#   make demo   create the virtualenv, install, run the guided tour on the model
#   make test   create the virtualenv, install, run the whole test suite

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean bench conformance kernels conformance-all

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/pidlab demo

test: $(STAMP)
	$(PY) -m pytest

# QEMU and Debian's 6.1 and 6.12 kernels for the live oracles (idempotent; needs root for QEMU).
kernels: $(STAMP)
	$(PY) -m pidlab.live.images install

# The whole conformance suite on every live kernel here (the guests included), every test,
# with a report per kernel in docs/conformance/.
conformance-all: $(STAMP)
	$(VENV)/bin/pidlab conformance --kernel all --guests all --markdown docs/conformance

bench: $(STAMP)
	$(VENV)/bin/pidlab bench

conformance: $(STAMP)
	$(VENV)/bin/pidlab conformance

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
