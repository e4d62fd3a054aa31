PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAMPLE := tests/fixtures/built/multisdk.apk

.PHONY: run test lint bench fixtures clean fuzz corpus test-corpus bench-corpus

FUZZ_SECONDS ?= 60
FUZZ_ENGINE ?= auto

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/appvet review $(SAMPLE) --format json -o review.json

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests bench fuzz

bench: $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/compare.py

fixtures:
	scripts/build-fixtures

# Real-world APKs restored outside the repository from git mirrors (see corpus/README.md).
CORPUS ?= /work/corpus/apks

corpus:
	scripts/build-corpus --out $(CORPUS)

test-corpus: $(VENV)/.installed-test
	APPVET_CORPUS=$(CORPUS) $(BIN)/pytest -m corpus tests/corpus

bench-corpus: $(VENV)/.installed-test
	$(BIN)/pip install -q -e '.[bench]'
	$(BIN)/python bench/corpus.py --corpus $(CORPUS)

clean:
	rm -rf $(VENV) review.json build

fuzz: $(VENV)/.installed-test
	$(BIN)/python fuzz/run_all.py --engine $(FUZZ_ENGINE) --seconds $(FUZZ_SECONDS)
