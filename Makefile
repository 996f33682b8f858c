# The two set-up commands (see README): `make demo` and `make test`. Each creates or updates
# the project virtualenv (.venv) from requirements.txt first.
VENV := .venv
BIN := $(VENV)/bin
CORES ?= 2

.PHONY: demo test lint bench venv envs rulegraph restore-mtimes

venv: $(VENV)/.installed

# requirements.txt includes every env's requirement file (envs/requirements/*.txt).
$(VENV)/.installed: requirements.txt $(wildcard envs/requirements/*.txt)
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# The whole workflow on the embedded default (config.yaml): synthetic corpus, tiny AST, CPU;
# then the report (results/report.html).
demo: venv
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --report results/report.html

# Every test, including the end-to-end runs of the real snakemake.
test: venv
	$(BIN)/python -m pytest

# Style and Snakemake's own checks (CI runs this before the tests): ruff, snakefmt, snakemake --lint.
lint: venv
	$(BIN)/ruff check .
	$(BIN)/snakefmt --check Snakefile rules/
	$(BIN)/snakemake --lint --directory "$$(mktemp -d)"

# Speed and memory benchmarks; each prints its ratio against a baseline from the same run.
bench: venv
	$(BIN)/python benchmarks/run.py

# After editing envs/requirements/<env>.txt: rewrite the pip list of envs/<env>.yaml from it.
envs:
	PYTHONPATH=src python3 -m svd_explain.envfiles

# docs/rulegraph.svg, the README's picture of the workflow, from the finished demo in results/.
rulegraph: venv
	$(BIN)/snakemake --rulegraph --quiet | dot -Tsvg > docs/rulegraph.svg

# In a fresh clone beside a copied results/ (and .snakemake/): give each entry-point script its
# last commit's time. Snakemake compares a script's mtime with its outputs' (a clone writes every
# file anew, so all would rerun); the package modules and resources it compares by checksum.
restore-mtimes:
	git ls-files -z workflow/scripts | xargs -0 -I{} sh -c 'touch -d "@$$(git log -1 --format=%ct -- "{}")" "{}"'
