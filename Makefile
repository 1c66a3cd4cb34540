# genexp: `make run` installs and trains the default experiment; `make test` runs the tests.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export WANDB_MODE ?= offline

.PHONY: install assets run test test-fast test-all sweep bench reproduce lint mutation clean \
	device-kit gpu-check gpu-check-cpu

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch/torchvision are pinned as a matched pair (see README: Installing)
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -e ".[dev,launchers,extractors]"
	touch $(STAMP)

install: $(STAMP)

assets: $(STAMP)
	$(BIN)/python scripts/prepare_assets.py

run: assets
	$(BIN)/python -m genexp $(ARGS)

# the default run: every fast test, plus the spine's slow end-to-end checks (SIGKILL resume,
# DDP on 2 CPU processes, launcher/optuna sweeps, report pages in headless Chromium); `make
# test-all` adds every other slow test
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -q -n 2 -m slow tests/entry/test_resume.py tests/entry/test_sweeps.py \
		tests/entry/test_exact_resume.py tests/report/test_report_browser.py \
		tests/scripts/test_gpu_check.py tests/callbacks/test_metrics_ddp.py $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 $(PYTEST_ARGS)

# the GPU check (README: GPU check): `make device-kit` packs what the GPU machine lacks (wheels,
# MNIST) into .device_kit/; `make gpu-check` runs there with that machine's own python3 (no venv,
# no network; $(OUT), when set, receives the JSON, the table and the failed runs' logs);
# `make gpu-check-cpu` is the same path on this CPU, small
device-kit: $(STAMP)
	$(BIN)/python scripts/pack_device_kit.py

gpu-check:
	$(PY) scripts/gpu_check.py --install-kit .device_kit $(if $(OUT),--out $(OUT)) $(ARGS)

gpu-check-cpu: $(STAMP)
	$(BIN)/python scripts/gpu_check.py --device cpu --quick $(ARGS)

sweep: assets
	$(BIN)/python -m genexp -m model=vae,beta_vae dataset=digits seed=1,2,3 $(ARGS)

bench: assets
	$(BIN)/python scripts/bench_overhead.py
	$(BIN)/python scripts/bench_metrics.py --write-docs

reproduce: assets
	$(BIN)/python scripts/reproduce.py $(ARGS)

# mutation score of losses/metrics/priors against their fast tests ([tool.mutmut] in pyproject.toml;
# about 15 minutes here; not part of CI); results in docs/testing.md
mutation: $(STAMP)
	rm -rf mutants
	OMP_NUM_THREADS=1 $(BIN)/mutmut run; $(BIN)/mutmut results > mutants/results.txt; tail -n 3 mutants/results.txt

lint: $(STAMP)
	$(BIN)/ruff check genexp hydra_plugins scripts tests

clean:
	rm -rf outputs/2* multirun .pytest_cache
