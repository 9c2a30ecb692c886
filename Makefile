# Three commands do everything on a fresh machine:
#   make lab    - JupyterLab on the notebooks, with the course's environment (offline profile)
#   make run    - execute every notebook top to bottom on the embedded default (offline profile)
#   make test   - lint, unit tests, every notebook run and then re-run cell by cell (tests/test_rerun.py; it
#                 contains pytest --nbmake notebooks) and the Colab simulation, all in the smoke profile
#   make results - keep the offline run's result files in results/offline/ (after make run), then make docs
#   make docs   - write README.md, docs/ and benchmarks/README.md from docs/src and results/ (tools/docs.py)
#   make export - write helpers/recipe.py, search.py and intervals.py from the notebook cells marked #| export
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PROFILE ?= offline
# make test's pytest workers: the Colab simulation on one, the other tests (notebooks in order) on the other
TEST_WORKERS ?= 2
# Offline-safe, quiet, reproducible: no hub calls, no progress bars in executed notebooks.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PYTHONHASHSEED := 0

.PHONY: setup run test lint format clean lab export docs results

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e ".[offline]"
	touch $@

setup: $(VENV)/.installed

run: setup
	MRL_PROFILE=$(PROFILE) $(PY) tools/run_notebooks.py

$(VENV)/.lab: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[offline,lab]"
	touch $@

# JupyterLab on the notebooks; LAB_ARGS passes options (tools/check_lab_in_browser.py: --no-browser, a port)
# (as root, in a container, JupyterLab refuses to start without --allow-root)
lab: $(VENV)/.lab
	MRL_PROFILE=$(PROFILE) $(VENV)/bin/jupyter lab --notebook-dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

export: setup
	$(PY) tools/export_notebook_code.py

results: setup
	$(PY) tools/docs.py --collect runs/offline

docs: setup
	$(PY) tools/docs.py

lint: setup
	$(PY) -m ruff check helpers course_data data tests tools benchmarks scripts notebooks
	$(PY) -m ruff format --check helpers course_data data tests tools benchmarks scripts notebooks

format: setup
	$(PY) -m ruff format helpers course_data data tests tools benchmarks scripts notebooks
	$(PY) -m ruff check --fix helpers course_data data tests tools benchmarks scripts notebooks

test: lint
	MRL_PROFILE=smoke $(PY) -m pytest tests -p no:cacheprovider -q \
		-n $(TEST_WORKERS) --dist loadgroup --durations=15

clean:
	rm -rf runs
