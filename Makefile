# territory — every set-up step lives here, so a fresh machine needs only
# Python 3.11+, make and the OS package manager.
#
#   make demo   set up from nothing, then evaluate the default scenario (table + HTML map in build/)
#   make test   set up from nothing, then run the whole test suite

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
# Local mirror of the upstream data; empty means fetch from upstream.
MIRROR ?= $(firstword $(wildcard ../shared/geodata))
export TERRITORY_MIRROR := $(MIRROR)
# Run as root, or through sudo when it exists, for the OS packages.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)
PYTEST_WORKERS ?= 2

.PHONY: all install compile data browser demo test test-fast doctest notebooks maps bench lint format check clean distclean

all: demo

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "territory needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet -e '.[dask]' --group dev
	touch $@

install: $(VENV)/.installed

# The package's bytecode written ahead, as installing a wheel does: every
# command then starts without compiling its modules, even where Python may not
# write their bytecode itself (PYTHONDONTWRITEBYTECODE).  Only the modules
# changed since are compiled again (a tenth of a second when none is).
compile: install
	$(PY) -m compileall -q territory

# Third-party data into the git-ignored cache (checksummed, converted to GeoParquet).
data: compile
	$(BIN)/territory data fetch
	$(BIN)/territory data fetch deepstate-sample

# Debian's chromium for the browser tests of the HTML maps (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }
	@chromium --version

demo: data
	@mkdir -p build
	$(BIN)/territory evaluate default --output build/default-scenario.txt --map build/default-scenario.html
	@cat build/default-scenario.txt
	@echo
	@echo "Table: build/default-scenario.txt   Map: build/default-scenario.html (open it in a browser; works offline)"

# Example maps of every library scenario, the comparison and today's control.
maps: data
	@mkdir -p build/maps
	for s in $$($(BIN)/territory scenarios --format csv | tail -n +2 | cut -d, -f1); do \
	  $(BIN)/territory map $$s -o build/maps/$$s.html || exit 1; done
	$(BIN)/territory map --compare all -o build/maps/compare.html
	$(BIN)/territory map -o build/maps/control-latest.html

test: data browser lint
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider --doctest-modules tests territory

test-fast: compile
	$(BIN)/pytest -m "not slow and not browser" -n $(PYTEST_WORKERS)

doctest: compile
	$(BIN)/pytest --doctest-modules territory

notebooks: data
	$(BIN)/pytest tests/test_notebooks.py

bench: data
	$(PY) bench/run.py $(BENCH)

lint: install
	$(BIN)/ruff check territory tests bench notebooks
	$(BIN)/ruff format --check territory tests bench notebooks
	$(BIN)/mypy territory

format: install
	$(BIN)/ruff format territory tests bench

check: lint test doctest

clean:
	rm -rf build .pytest_cache

distclean: clean
	rm -rf $(VENV) geodata/cache
