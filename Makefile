# The two commands of the README: `make local` (deploy to the embedded chain) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
LINK := .collections/ansible_collections/tonsurance/deploy
# pytest spreads whole test files over this many processes (pytest-xdist); 0 runs them in one.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/.state/ansible-tmp
export ANSIBLE_HOME := $(CURDIR)/.state/ansible-home

.PHONY: setup local test unit integration contracts contracts-check bench build clean lock secrets-scan promtool shellcheck lint sanity molecule

setup: $(VENV)/.installed $(LINK)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -r requirements.txt
	$(BIN)/python -m compileall -q $(VENV)/lib >/dev/null
	touch $@

$(LINK):
	mkdir -p $(dir $(LINK))
	ln -sfn ../../.. $(LINK)

local: setup
	$(BIN)/ansible-playbook playbooks/deploy.yml -i inventories/local

test: setup contracts/node_modules/.installed promtool shellcheck
	$(PYTEST) tests
	$(MAKE) --no-print-directory --jobs=2 --output-sync=target lint sanity molecule

unit: setup
	$(PYTEST) tests/unit

integration: setup promtool
	$(PYTEST) tests/integration

# Debian's prometheus package: promtool checks and unit-tests the alert rules, and the server parses
# every dashboard query.
promtool:
	@command -v promtool >/dev/null && command -v prometheus >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus)

# Debian's shellcheck, for the sanity test of the shell scripts.
shellcheck:
	@command -v shellcheck >/dev/null || (apt-get update -qq && apt-get install -y -qq --no-install-recommends shellcheck)

# ansible-lint with the production profile; settings in .ansible-lint.
lint: setup
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/ansible-lint

# ansible-test sanity on a copy of the collection; tests/sanity/run.sh says why and how.
sanity: setup shellcheck
	SANITY_VENV_BIN=$(CURDIR)/$(BIN) tests/sanity/run.sh

# Every scenario under molecule/ (shared settings in .config/molecule/config.yml), on this machine.
molecule: setup promtool
	PATH=$(CURDIR)/$(BIN):$$PATH MOLECULE_GLOB='molecule/*/molecule.yml' NO_COLOR=1 $(BIN)/molecule test --all

contracts/node_modules/.installed: contracts/package-lock.json
	cd contracts && npm ci --no-audit --no-fund --silent
	touch $@

# Recompile the FunC sources into contracts/build/ (needs Node 20 and the npm registry once).
contracts: setup contracts/node_modules/.installed
	$(BIN)/python scripts/compile_contracts.py

contracts-check: setup contracts/node_modules/.installed
	$(BIN)/python scripts/compile_contracts.py --check

bench: setup
	$(BIN)/python tests/bench/bench_deploy.py
	$(BIN)/python tests/bench/bench_protocol.py
	$(BIN)/python tests/bench/bench_backup.py

build: setup
	$(BIN)/ansible-galaxy collection build --force

# Fails on a secret in the tree that .secrets.baseline does not know (make test runs it too).
secrets-scan: setup
	$(BIN)/python scripts/check_secrets.py

lock:
	uv pip compile -q -p 3.11 requirements.in -o requirements.txt

clean:
	if [ -f .state/local/pg/postmaster.pid ]; then $(BIN)/ansible deployer -i inventories/local \
	  -m tonsurance.deploy.pg_local_server -a 'state_dir=$(CURDIR)/.state/local state=stopped'; fi
	rm -rf .state/local .state/ansible-tmp
