# The two commands of the README are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench bench-throughput bench-scale clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

## demo: start a local OpenBao dev server and run rotator with config/rotator.yaml
demo: $(BIN)/.installed
	VENV=$(VENV) scripts/demo.sh

## test: the whole test suite against a real OpenBao that the session starts
test: $(BIN)/.installed
	$(BIN)/python -m pytest

## lint: ruff and mypy --strict, as CI runs them
lint: $(BIN)/.installed
	$(BIN)/ruff check rotator tests bench examples
	$(BIN)/ruff format --check rotator tests bench examples
	$(BIN)/mypy rotator

## bench: both benchmarks (they print ratios against baselines measured in the same run)
bench: bench-throughput bench-scale

bench-throughput: $(BIN)/.installed
	$(BIN)/python bench/throughput.py

bench-scale: $(BIN)/.installed
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis .run
