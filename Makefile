# rtlab: `make lab` to learn, `make test` to prove it works. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HERE := $(abspath .)

# Keep Jupyter, IPython and friends out of the user's home: everything lives in .jupyter/.
export JUPYTER_CONFIG_DIR := $(HERE)/.jupyter/config
export JUPYTER_DATA_DIR := $(HERE)/.jupyter/data
export JUPYTER_RUNTIME_DIR := $(HERE)/.jupyter/runtime
export IPYTHONDIR := $(HERE)/.jupyter/ipython
export MPLCONFIGDIR := $(HERE)/.jupyter/mpl
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: lab test unit integration notebooks browser bench serve lint clean student grade fuzz \
	classroom

$(STAMP): pyproject.toml
	tools/setup-system lab
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[lab,test,bench]'
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/python -m rtlab.labapp

test: $(STAMP)
	tools/setup-system test
	$(BIN)/ruff check rtlab servers tests benchmarks
	$(BIN)/python -m pytest -p no:cacheprovider tests

unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/integration

notebooks: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/notebooks

browser: $(STAMP)
	tools/setup-system test
	$(BIN)/python -m pytest -p no:cacheprovider tests/browser

bench: $(STAMP)
	$(BIN)/python -m benchmarks

fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --inputs $(or $(INPUTS),12000) $(if $(SEED),--seed $(SEED))

serve: $(STAMP)
	$(BIN)/python -m servers --port $(or $(PORT),8000)

# One server for a whole class (README "Classroom mode"): prints the join URL and a QR code.
# On the C library's malloc: the memory a class used goes back to the system when it leaves
# (benchmarks/classroom_churn.py says why and measures it).
classroom: $(STAMP)
	PYTHONMALLOC=malloc $(BIN)/python -m servers --classroom --host $(or $(HOST),0.0.0.0) --port $(or $(PORT),8000)

# Exercises for a class (nbgrader; see README "Teaching with rtlab"). Student copies go to
# course/release/exercises/; `make grade SUBMISSIONS=DIR` grades DIR/<student>/*.ipynb.
student: $(STAMP)
	$(BIN)/python -m rtlab.exercises student

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=DIR (DIR/<student>/*.ipynb)"; exit 2; }
	$(BIN)/python -m rtlab.exercises grade "$(SUBMISSIONS)"

lint: $(STAMP)
	$(BIN)/ruff check rtlab servers tests benchmarks

clean:
	rm -rf $(VENV) .jupyter .pytest_cache test-artifacts .browsers
