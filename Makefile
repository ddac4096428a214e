# tinygen developer entry points. On a fresh clone (Debian, Python >= 3.11):
#   make demo   set everything up, then compile/verify/run the bundled default model
#   make test   set everything up, then run the test suite (what CI runs, via .ci/run)
# Everything lands in .venv/ (Python) and, as root, the system (apt-get); see `make help`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# The interpreter .venv/ is made with: python3.11 if present, else python3 (checked to be >= 3.11).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null || echo python3)
VENV := .venv
VPY := $(VENV)/bin/python
PYTEST_ARGS ?= -ra --durations=10
# C sources checked by clang-format: the kernel library and anything else under firmware/.
C_SOURCES = $(shell find firmware -name '*.[ch]' -not -path '*/.pio/*' 2>/dev/null | sort)
C_MAX_COLUMNS := 120

export PLATFORMIO_DISABLE_UPGRADE_CHECK := true
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup demo test bench lint format clean distclean

help:
	@echo "make demo       set up, then compile + verify + run the bundled KWS model (scripts/demo.sh)"
	@echo "make test       set up, then run the test suite (slow model sweeps excluded)"
	@echo "make setup      system tools (apt-get as root) + .venv/ with tinygen installed editable"
	@echo "make bench      set up, then the slow tests (pytest -m slow) and the scripts in bench/"
	@echo "make lint       ruff + mypy on tinygen/, import layering/cycles, unreachable and unreferenced code,"
	@echo "                clang-format --dry-run on firmware C sources"
	@echo "make format     ruff --fix and clang-format -i (rewrites files)"
	@echo "make clean      remove build outputs and caches (keeps .venv/); distclean removes .venv/ too"
	@echo "Variables: PYTHON=$(PYTHON)  PYTEST_ARGS='$(PYTEST_ARGS)'  TINYGEN_NO_APT=1 skips apt-get"

# Idempotent: tools already present are not reinstalled, and the venv step does nothing while
# .venv/.tinygen-setup matches pyproject.toml/setup.py. Extra setup steps (e.g. PlatformIO's
# offline packages) go in scripts/setup.d/*.sh: run in order, with .venv/bin first on PATH.
setup:
	@scripts/setup_system.sh "$(PYTHON)"
	@scripts/setup_venv.sh "$(PYTHON)"
	@for step in scripts/setup.d/*.sh; do \
		[ -f "$$step" ] || continue; \
		echo "setup: $$step"; \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash "$$step" || exit 1; \
	done

demo: setup
	@scripts/demo.sh

test: setup
	$(VPY) -m pytest $(PYTEST_ARGS)

# Slow tests are marked @pytest.mark.slow (excluded from `make test` by pyproject's addopts).
# Benchmark scripts: every bench/*.py (run with the venv's Python) and bench/*.sh, in name
# order, from the repository root; names starting with "_" are helpers and are not run.
bench: setup
	@$(VPY) -m pytest -m slow $(PYTEST_ARGS); status=$$?; \
		if [ $$status -eq 5 ]; then echo "bench: no slow tests collected"; \
		elif [ $$status -ne 0 ]; then exit $$status; fi
	@shopt -s nullglob; for script in bench/[!_]*.py bench/[!_]*.sh; do \
		echo "==== $$script ===="; \
		case "$$script" in \
			*.py) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VPY) "$$script" || exit 1 ;; \
			*.sh) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash "$$script" || exit 1 ;; \
		esac; \
	done

# Runs every check, then fails if any failed.
lint: setup
	@status=0; \
	echo "== ruff"; $(VENV)/bin/ruff check tinygen tests scripts || status=1; \
	echo "== mypy"; $(VENV)/bin/mypy tinygen || status=1; \
	echo "== import cycles and layers of tinygen/ (scripts/check_layers.py, layers in pyproject.toml)"; \
	$(VPY) scripts/check_layers.py --package tinygen || status=1; \
	echo "== unreachable code, unreferenced definitions (scripts/check_unreachable.py)"; \
	$(VPY) scripts/check_unreachable.py --package tinygen tinygen scripts bench || status=1; \
	if command -v clang-format >/dev/null; then \
		echo "== clang-format (firmware C sources)"; \
		clang-format --dry-run --Werror $(C_SOURCES) || status=1; \
	else \
		echo "== clang-format: not installed, skipped (apt-get install clang-format)"; \
	fi; \
	echo "== C lines over $(C_MAX_COLUMNS) columns"; \
	if awk 'length($$0) > $(C_MAX_COLUMNS) { print FILENAME ":" FNR ": " length($$0) " columns"; bad = 1 } \
		END { exit bad }' $(C_SOURCES); then echo "none"; else status=1; fi; \
	exit $$status

format: setup
	$(VENV)/bin/ruff check --fix tinygen tests scripts
	clang-format -i $(C_SOURCES)

clean:
	rm -rf out/ build/ dist/ .pytest_cache/ .mypy_cache/ .ruff_cache/ .hypothesis/
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name '*.egg-info' \) -type d -print0 \
		| xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV)/ .tools/
