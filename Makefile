# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
# The first of python3.11 … python3.13 on the PATH (3.11 is what CI runs; 3.12 and 3.13 pass the suite too).
PYTHON ?= $(firstword $(foreach v,3.11 3.12 3.13,$(shell command -v python$(v) 2>/dev/null)) python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg constraints.txt | cksum | cut -d' ' -f1)

.PHONY: run test lint imports typecheck pytest bench fuzz faults soak sysdeps clean help

help:
	@echo "make run    - start the whole hub with demo data (embedded PostgreSQL and Redis under var/)"
	@echo "make test   - ruff, mypy and the test suite against real PostgreSQL and Redis"
	@echo "make bench  - scale benchmarks (1M persons); figures go to docs/benchmarks.md"
	@echo "make fuzz   - 100,000 mutants: our XMLDSig core against signxml and xmlsec; figures go to docs/security.md"
	@echo "make faults - the fault suite: rserz up under signed load, parts killed and restarted (docs/faults.md)"
	@echo "make soak   - 30 min of mixed signed load at half the measured capacity (docs/benchmarks.md, Soak)"
	@echo "make clean  - remove .venv and var/ (the demo databases, PKI and exports)"

$(STAMP): setup.cfg pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 14))' 2>/dev/null \
	  || { echo "need Python 3.11, 3.12 or 3.13 (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/rserz up

# System packages some tests need (a browser for the console, the GOST engine for СМЭВ signatures, a
# Cyrillic TrueType font for the PDF extract).
# Installed when apt is there and we are root (CI); elsewhere those tests skip and say why.
SYSTEM_PACKAGES := chromium chromium-driver libengine-gost-openssl fonts-dejavu-core
sysdeps:
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	  if [ -n "$$missing" ]; then echo "installing $$missing"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "could not install $$missing: tests that need them will skip"; fi; \
	else echo "no apt or not root: tests needing $(SYSTEM_PACKAGES) will skip"; fi

lint: $(STAMP)
	$(BIN)/ruff check .

# The import contract of docs/architecture.md §3 (setup.cfg [importlinter]).
imports: $(STAMP)
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# PYTEST_ARGS: e.g. --basetemp=/tmp/pt-mine when several suites share the machine
pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: $(STAMP) sysdeps lint imports typecheck pytest

# Scale proofs on this machine (≈ 25 min): every benchmark of bench/ on one register of $${PERSONS:-1000000}
# persons, generated once by the seed benchmark into $(SEEDBENCH) and reused by the others (SKIP_SEED=1 reuses
# the one left by an earlier run); each rewrites its section of docs/benchmarks.md. The reconciliation keeps
# a register of its own (/tmp/reconbench, with the federal side it plants differences in): the registry
# benchmark has written to the shared one by then. wrk (Debian package) drives the SOAP benchmark.
SEEDBENCH ?= /tmp/seedbench
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || true
	[ -n "$(SKIP_SEED)" ] || $(BIN)/python bench/bench_seed.py --persons $${PERSONS:-1000000} --var-dir $(SEEDBENCH) \
	  --explain bench/results/explain_1m.txt
	$(BIN)/python bench/bench_gost.py
	$(BIN)/python bench/profile_soap.py --var-dir $(SEEDBENCH) --requests 3000 --top 15 --stages
	$(BIN)/python bench/bench_soap.py --var-dir $(SEEDBENCH) --persons $${PERSONS:-1000000}
	$(BIN)/python bench/bench_registry.py --var-dir $(SEEDBENCH) --persons $${PERSONS:-1000000} --ops $${OPS:-10000}
	$(BIN)/python bench/bench_snapshot.py --var-dir $(SEEDBENCH) --persons $${PERSONS:-1000000} --rebuild
	$(BIN)/python bench/bench_reconcile.py --persons $${PERSONS:-1000000}

# The signature core against signxml and python-xmlsec (issue 18): MUTANTS=20000 for a shorter run.
fuzz: $(STAMP)
	$(BIN)/python bench/fuzz_xmlsig.py --mutants $${MUTANTS:-100000}

# The fault suite at full size (≈ 8 min): 5 min of signed load, every fault 5 times, then the invariants.
# DURATION=… ROUNDS=… change the size; the result is the section "Fault suite" of docs/faults.md.
faults: $(STAMP)
	$(BIN)/python bench/faults.py --duration $${DURATION:-300} --rounds $${ROUNDS:-5} --report docs/faults.md

# Soak (issue 17): the whole hub, mixed signed load at half its measured capacity; SOAK_MINUTES=5 for less.
soak: $(STAMP)
	$(BIN)/python bench/soak.py --minutes $${SOAK_MINUTES:-30}

clean:
	rm -rf $(VENV) var
