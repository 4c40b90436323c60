# Developer entry points. `make demo` and `make test` are the README's quick start.
SHELL := /bin/bash
VENV := .venv
VENV_221 := .venv-2.21
BIN := $(VENV)/bin
# Tools that go through the collection loader accept a symlinked tree (tests/conftest.py makes it).
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.build/collections

.PHONY: demo test venv collection-link lint format sanity units integration molecule importer tarball test-2.21 bench clean

demo:
	@bash .ci/demo

test: lint sanity units integration molecule importer tarball ee test-2.21
	@echo "make test: all checks passed"

venv:
	@bash .ci/bootstrap 2.19

collection-link:
	@mkdir -p .build/collections/ansible_collections/koophone
	@ln -sfn $(CURDIR) .build/collections/ansible_collections/koophone/cloud

lint: venv collection-link
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint --profile production
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-changelog lint
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/antsibull-docs lint-collection-docs --plugin-docs \
	  --validate-collection-refs=all .build/collections/ansible_collections/koophone/cloud

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sanity: venv
	bash .ci/ansible-test 2.19 sanity

units: venv collection-link
	$(BIN)/python -m pytest -q tests/unit tests/emulator

integration: venv collection-link
	$(BIN)/python -m pytest -q tests/integration

# Roles, with no containers: the role runs on the controller against a fresh emulator.
molecule: venv collection-link
	cd extensions && KOOPHONE_EXPECTED_INSTANCES=20 PATH=$(CURDIR)/$(BIN):$$PATH \
	  ../.ci/with-emulator --python $(CURDIR)/$(BIN)/python --instances 20 -- \
	  $(CURDIR)/$(BIN)/molecule test --all

# What Galaxy and Automation Hub run on upload, on the built tarball: 0 errors, 0 warnings.
importer: venv
	@bash .ci/galaxy-importer

# The collection as a user installs it: the built tarball in a clean collections path, a fresh venv
# with only the run-time pins and the shipped emulator, then the README's user path, every role's
# molecule scenario and ansible-lint on the installed tree, with no checkout on any path.
tarball: venv
	@bash .ci/from-tarball

# The AWX execution environment (extensions/ee): ansible-builder create, and the image build's
# collection install + introspection replayed on its context (no container engine here).
.PHONY: ee
ee: venv
	@bash .ci/ee

# ansible-core 2.21 needs Python 3.12: sanity + integration there, or a clear SKIP line.
test-2.21: collection-link
	@bash .ci/test-2.21

# One table (100 / 1,000 / 10,000 / 50,000 phones at 50 ms latency) and docs/bench.png; ~25 minutes.
# QUICK=1: 100 and 1,000 phones, one run each (~3 minutes); BENCH_SIZES=100,1000,10000 picks sizes.
# The detailed benchmarks stay runnable on their own: tests/bench/bench_*.py. Not part of `make test`.
bench: venv collection-link
	$(BIN)/python tests/bench/suite.py $(if $(QUICK),--quick) $(if $(BENCH_SIZES),--sizes $(BENCH_SIZES))

clean:
	rm -rf .build tests/output .pytest_cache .ruff_cache
