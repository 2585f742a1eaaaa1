# Two entry points for a fresh machine: `make fuzz` and `make test`.
# Both create .venv on first use and install the pinned stack from constraints.txt.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# the test suite also covers campaigns on a local Ray cluster: the cluster extra, for tests only
TEST_STAMP := $(VENV)/.installed-test

.PHONY: fuzz test test-fast bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,plot]"
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,plot,cluster]"
	@touch $(TEST_STAMP)

# A short default campaign (about a minute, both exporters) ending with a summary table.
fuzz: $(STAMP)
	$(VENV)/bin/onnxfuzz fuzz --exporter both --seconds 60

# on both cores (pytest-xdist; worksteal: an idle process takes tests queued for the other, so
# the slowest files do not end the run alone); the slowest tests are listed at the end, so a test
# that grows shows in every CI log
test: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 --dist worksteal --durations=15

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e"

bench: $(STAMP)
	$(PY) scripts/bench.py

clean-venv:
	rm -rf $(VENV)
