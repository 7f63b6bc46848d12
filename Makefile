# The two commands of the README: `make demo` and `make test`. Both create .venv and install first (the demo
# without the test-only packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-installed-stamp
START := $(shell date +%s)
# Hold oneDNN's, MKL's and torch's own kernels to AVX2: an AMX or AVX-512 machine then runs as an AVX2-only one does
# (no bf16 or int8 dot products), so the tests marked cpu_kinds cover both kinds of CPU on either.
AVX2 := ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2

.PHONY: demo test bench clean

# pyproject.toml declares ranges; constraints.txt (the lock) pins every package these install, so both commands
# install exactly what the tests ran with. The demo installs the extra serve too: it prints a `lrcn serve` command.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[serve]'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PIP) -e '.[serve,test]'
	touch $(TEST_STAMP)

demo: $(STAMP)
	$(BIN)/lrcn demo --out runs/demo --started-at $(START)

# pytest-xdist: one worker per core (a test file stays on one worker, so its module fixtures are built once); the
# suite alone kept about one of 2 cores busy (CLI start-ups, servers, waits).
PYTEST := $(BIN)/python -m pytest -q -n auto --dist loadfile

test: $(TEST_STAMP)
	$(PYTEST)
	@if $(BIN)/python -c "import sys, lrcn.hardware as h; sys.exit(not (h.cpu().bf16 or h.cpu().int8))"; then \
		echo "again, held to AVX2 (this CPU has bf16 or int8 dot products): the tests marked cpu_kinds"; \
		$(AVX2) $(PYTEST) -m "cpu_kinds and not slow"; \
	else echo "this CPU has neither bf16 nor int8 dot products: the suite above ran the AVX2 paths"; fi

# The CPU benches; bench/gpu_check.py is for a GPU machine (docs/gpu.md), bench/gpu_*.py are its parts.
bench: $(TEST_STAMP)
	for b in bench/bench_*.py bench/project.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) runs .cache
