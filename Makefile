# pidlab: two commands do everything on a fresh machine.
#   make demo   create the virtualenv, install, run the guided tour on the model
#   make test   create the virtualenv, install, run the whole test suite
#   make fast   optional: the model's hot path compiled with mypyc into build/fast (needs
#               a C compiler); `make test-fast` runs the suite on it, `make bench-fast`
#               the benchmarks.  The pure package in src/ stays the reference.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean bench conformance kernels conformance-all fast test-fast test-compiled test-native bench-fast

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
	@if command -v $(CC) >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory -j2 --output-sync=target test-compiled test-native; \
	else echo "make test: no C compiler ($(CC)): the mypyc build (make fast) and the native agent are not tested"; fi

# The live half of the process-life scenarios again, with the native agent
# (LiveKernel(agent="native")) on this machine's kernel: every scenario whose calls it makes
# passes, the others skip as unsupported (tests/test_native_agent.py covers the guests).
NATIVE_SCENARIOS := lifecycle wait sessions signals pidfd
test-native: $(STAMP)
	@series=$$($(PY) -c "import pidlab.versions as v, pidlab.live.kernel as k; \
		s = k.running_series(); print(s if s in v.KERNEL_VERSIONS else '')"); \
	if [ -z "$$series" ]; then echo "make test-native: the model knows no Linux $$(uname -r): skipped"; \
	else $(PY) -m pytest -q -p no:cacheprovider --pidlab-backend live --pidlab-agent native \
		--pidlab-kernel $$series $(NATIVE_SCENARIOS:%=src/pidlab/conformance/scenarios/test_%.py); fi

# QEMU and Debian's 6.1 and 6.12 kernels for the live oracles (idempotent; needs root for QEMU).
kernels: $(STAMP)
	$(PY) -m pidlab.live.images install

# The whole conformance suite on every live kernel here (the guests included), every test,
# with a report per kernel in docs/conformance/.
conformance-all: $(STAMP)
	$(VENV)/bin/pidlab conformance --kernel all --guests all --markdown docs/conformance

bench: $(STAMP)
	$(VENV)/bin/pidlab bench

# The fork -> exit_group -> waitpid path compiled with mypyc from the same sources: a copy of
# the package in build/fast whose hot modules are C extensions, used by putting build/fast
# first on PYTHONPATH.  kernel.py (its Task handles change class under the explorer) and the
# modules off the hot path stay interpreted.
FAST           := build/fast
MYPYC_MODULES  := idr pid pid_namespace task fork exit signal pidfs
CC             ?= cc

$(FAST)/.built: $(STAMP) mypyc.ini $(wildcard src/pidlab/*.py src/pidlab/*/*.py)
	@command -v $(CC) >/dev/null 2>&1 || { echo "make fast: no C compiler ($(CC)); nothing built"; exit 1; }
	$(PY) -m pip install --quiet 'mypy>=1.11'
	rm -rf $(FAST) && mkdir -p $(FAST) && cp -r src/pidlab $(FAST)/
	find $(FAST) -name __pycache__ -prune -exec rm -rf {} +
	cd $(FAST) && $(CURDIR)/$(VENV)/bin/mypyc --config-file $(CURDIR)/mypyc.ini \
		$(MYPYC_MODULES:%=pidlab/model/%.py) > mypyc.log 2>&1 || { tail -30 mypyc.log; exit 1; }
	touch $@

fast: $(FAST)/.built

# What `make test` runs on the compiled build: every model scenario at every version, the
# API, the explorer and bulk tests (the live half runs no model code that mypyc compiles).
test-compiled: $(FAST)/.built
	PYTHONPATH=$(CURDIR)/$(FAST) $(PY) -c "import sys, pidlab.model.fork as m; \
		sys.exit(0 if m.__file__.endswith('.so') else 'make test-compiled: ' + m.__file__ + ' is not the compiled build')"
	PYTHONPATH=$(CURDIR)/$(FAST) $(PY) -m pytest -q -p no:cacheprovider --pidlab-backend model \
		src/pidlab/conformance/scenarios tests/test_api.py tests/test_explore.py tests/test_bulk.py

test-fast: $(FAST)/.built
	PYTHONPATH=$(CURDIR)/$(FAST) $(PY) -m pytest

bench-fast: $(FAST)/.built
	PYTHONPATH=$(CURDIR)/$(FAST) $(VENV)/bin/pidlab bench

conformance: $(STAMP)
	$(VENV)/bin/pidlab conformance

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
