# Fresh machine: `make demo` or `make test` creates .venv and installs on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= local,curate,train,bundle,dev
# The CPU torch wheel on the build machines; pip's find-links picks it up where configured.
WHEELS ?= /opt/wheels
FIND_LINKS := $(if $(wildcard $(WHEELS)),--find-links $(WHEELS),)

.PHONY: install test test-sail test-jvm demo bench clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned, so no dependency can pull a CUDA build.
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) "torch==2.13.0"
	$(BIN)/python -m pip install --quiet $(FIND_LINKS) -e ".[$(EXTRAS)]"
	touch $@

# Every test on the embedded Sail engine, then the Spark tests not marked sail_only on local JVM Spark.
test: test-sail test-jvm

test-sail: install
	$(BIN)/python -m pytest -q

test-jvm: install
	ECHO_TEST_BACKEND=spark-local $(BIN)/python -m pytest -q

LAKEHOUSE ?= ./lakehouse
demo: install
	$(BIN)/echo-spark demo --quiet --lakehouse $(LAKEHOUSE)

bench: install
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) lakehouse out mlruns mlflow.db .pytest_cache
