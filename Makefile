# Two commands a newcomer needs: `make demo` and `make test`.
# Both create or update .venv first; nothing but Python and the package
# registries is required.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# The effect the demo fits and estimates; any registered one works.
DEMO_EFFECT ?= delay

.PHONY: demo test lint clean models

$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	@touch $@

demo: $(INSTALLED)
	$(BIN)/fxr list-effects
	$(BIN)/fxr list-sources
	$(BIN)/python -m fxregistry.demo $(DEMO_EFFECT)
	$(BIN)/fxr inspect demo-output/datasets/$(DEMO_EFFECT).h5

test: $(INSTALLED) lint
	$(BIN)/python -m pytest -q

# Retrain the default estimators fxr ships (plugins/weights), about half an hour on 2 cores;
# MODELS_ARGS="--corpus freepats=datasets/real-freepats" also measures them on real audio.
models: $(INSTALLED)
	$(BIN)/python benchmarks/default_estimators.py $(MODELS_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check fxregistry plugins tests benchmarks

clean:
	rm -rf $(VENV) demo-output .pytest_cache
