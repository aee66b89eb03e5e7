# qlwork — two commands: `make dashboard` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
QLWORK := $(VENV)/bin/qlwork
HOST ?= 127.0.0.1
PORT ?= 8866
# preheated dashboard kernels (about the number of people who open the page at once); empty: voila.json's
POOL ?=
DEMO_MARKER := data/raw/units.xlsx
SCORES := data/processed/values.parquet
# the official result of every period (qlwork score): what reports, notices and the dashboard read
OFFICIAL := data/processed/results/2025H2/manifest.json
# the demo's four half-year periods; the dashboard shows survey and sensitivity views when these exist
PERIODS := 2024H1 2024H2 2025H1 2025H2
LATEST := 2025H2
WEIGHTS := data/processed/weights_ahp.parquet
PUBLIC := $(foreach p,$(PERIODS),data/processed/public_$(p).parquet)
SENSITIVITY := data/processed/sensitivity_$(LATEST).parquet
# follow-through (issue 20): the demo's rectification ledger and risk register (made from the official
# results' warnings), the ledger merged with the latest warnings on LEDGER_AS_OF, the region results
FOLLOW_REGISTERS := data/raw/registers/整改台账.xlsx
LEDGER := data/processed/ledger/ledger.parquet
REGIONS := data/processed/regions/regions_$(LATEST).parquet
LEDGER_AS_OF ?= 2026-01-31
# 超常预警 of the latest half-year from the monthly data (values_fine.parquet, written by ingest)
ALERTS := data/processed/alerts_$(LATEST).parquet

.PHONY: dashboard test bench demo data system clean-processed lab help

help:
	@echo "make dashboard  — 安装并启动评审看板 set up and serve the review dashboard (http://$(HOST):$(PORT))"
	@echo "                  会议室 meeting room: make dashboard HOST=0.0.0.0 POOL=20 (login link printed)"
	@echo "make test       — 安装并运行全部测试 set up and run every test"
	@echo "make bench      — 性能基准 benchmarks -> benchmarks/RESULTS.md"
	@echo "make lab        — JupyterLab on notebooks/"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

system:
	bash scripts/setup_system.sh

$(DEMO_MARKER): | $(VENV)/.installed
	$(QLWORK) demo --out data/raw

demo: $(DEMO_MARKER)

$(SCORES): $(DEMO_MARKER) | $(VENV)/.installed
	$(QLWORK) ingest --exclude-invalid

$(WEIGHTS): $(DEMO_MARKER) | $(VENV)/.installed
	$(QLWORK) weights

data/processed/public_%.parquet: $(SCORES) | $(VENV)/.installed
	$(QLWORK) survey --period $*

$(OFFICIAL): $(SCORES) $(PUBLIC) | $(VENV)/.installed
	$(QLWORK) score --period all

$(SENSITIVITY): $(OFFICIAL) | $(VENV)/.installed
	$(QLWORK) sensitivity --period $(LATEST) --no-progress

$(FOLLOW_REGISTERS): $(OFFICIAL) | $(VENV)/.installed
	$(QLWORK) demo --follow-through

$(LEDGER): $(FOLLOW_REGISTERS) | $(VENV)/.installed
	$(QLWORK) ledger update --period $(LATEST) --as-of $(LEDGER_AS_OF) --exclude-invalid

$(REGIONS): $(OFFICIAL) | $(VENV)/.installed
	$(QLWORK) regions --period $(LATEST)

$(ALERTS): $(SCORES) | $(VENV)/.installed
	$(QLWORK) monitor --period $(LATEST)

# everything the review dashboard shows: official results, AHP weight preset, survey estimates, rank intervals,
# the rectification ledger, region results and 超常预警 alerts
data: $(SCORES) $(WEIGHTS) $(PUBLIC) $(OFFICIAL) $(SENSITIVITY) $(LEDGER) $(REGIONS) $(ALERTS)

dashboard: $(VENV)/.installed data
	$(QLWORK) dashboard --host $(HOST) --port $(PORT) $(if $(POOL),--pool $(POOL))

test: $(VENV)/.installed system
	$(PY) -m pytest -q

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

# root (containers, these machines) must say --allow-root or Jupyter refuses to start
LAB_FLAGS := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(VENV)/.installed data
	$(VENV)/bin/jupyter lab $(LAB_FLAGS) notebooks/

clean-processed:
	find data/processed -mindepth 1 ! -name README.md -exec rm -rf {} +
