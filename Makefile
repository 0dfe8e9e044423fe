# spine-study: `make study` runs the study, `make test` tests it. Both set up .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, so that nothing later pulls a different (multi-GB CUDA) build; override for a GPU machine,
# e.g. make TORCH_SPEC='torch==2.13.0' TORCH_PIP_ARGS='--index-url https://download.pytorch.org/whl/cu126'
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
STAMP := $(VENV)/.installed-$(shell cat settings.ini setup.py | cksum | cut -d' ' -f1)
STUDY_ARGS ?=
ABLATION_ARGS ?=

.PHONY: setup test study ablation external reproduce lab export index report bench help
help:
	@echo "make study | make test | make report | make ablation | make external | make reproduce | make lab | make bench | make export"

setup: $(STAMP)
$(STAMP): settings.ini setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), f"Python >= 3.11 needed, found {sys.version}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-compile $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q --no-compile -e ".[dev]"
	@# bytecode on every core (pip compiles on one: the install took 81 s -> 58 s here); like pip, it skips files that do
	@# not compile (torch ships some Python 3.12 syntax), listed in compileall.log
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > $(VENV)/compileall.log 2>&1 || true
	rm -f $(VENV)/.installed-*; touch $@

# nbdev_test executes every notebook (IN_TEST=1 picks small sizes); pytest runs the integration tests.
# A test runner that finds nothing to test must not pass.
test: $(STAMP)
	@n=$$(ls nbs/*.ipynb 2>/dev/null | wc -l); test $$n -gt 0 || { echo "no notebooks found"; exit 1; }; echo "nbdev_test on $$n notebooks"
	$(BIN)/nbdev_test --n_workers 2 --timing
	$(BIN)/pytest -q -n 2 --durations=8 tests   # two test processes: most tests wait on a notebook kernel; the 8 slowest named

study: $(STAMP)
	$(BIN)/spine-study study $(STUDY_ARGS)

ablation: $(STAMP)
	$(BIN)/spine-study ablation $(ABLATION_ARGS)

# the study's external test: the second, independent simulator (00d), CV with its landmarks.csv, CV with centres
# predicted by the phantom-trained landmark model, and the home phantom's model applied to it (~40 min here; not in make study)
PHANTOM_B ?= data/phantom_b_quick_n240_seed0_v1
external: $(STAMP)
	test -f $(PHANTOM_B)/.complete || $(BIN)/spine-study phantom $(PHANTOM_B) --simulator b
	$(BIN)/spine-study run 03_train -p data_dir $(PHANTOM_B)/nifti -p repeats 1
	$(BIN)/spine-study run 03_train -p data_dir $(PHANTOM_B)/nifti -p repeats 1 -p landmarks predicted
	$(BIN)/python benchmarks/bench_cross_sim.py --train "$$($(BIN)/python -c 'from spine_study.data import resolve_data_dir; print(resolve_data_dir())')" --test $(PHANTOM_B)/nifti
	$(BIN)/spine-study index

# the original project re-run as faithfully as its README allows (03_train protocol seed_original on the full-size phantom,
# 33,944,257-parameter SimpleCNN on 7 x 512 x 512 raw slices), then its diagnosis; hours on a CPU, so not in make study.
# It prints its expected cost (timed here) before it starts; REPRODUCE_ARGS=--estimate-only stops there, --device cuda uses a GPU.
REPRODUCE_ARGS ?=
reproduce: $(STAMP)
	$(BIN)/spine-study reproduce $(REPRODUCE_ARGS)

lab: $(STAMP)   # JupyterLab is the [lab] extra, installed here on first use (kept out of [dev]: see settings.ini)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install -q -e ".[lab]"
	$(BIN)/jupyter lab nbs/

index: $(STAMP)
	$(BIN)/spine-study index

# the study as one document from the complete runs present (07_report): reports/report.html, and report.md + checklist.csv in its run
report: $(STAMP)
	$(BIN)/spine-study report

# benchmarks print tables (nothing here is a test); bench_io generates a full-size phantom once (~4.5 GB under data/bench)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_train.py --feeding
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b; done

# after editing notebooks: regenerate spine_study/ and strip notebook noise
export: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean
