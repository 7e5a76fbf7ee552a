# Two commands for a newcomer: `make demo` and `make test` (see README.md).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bootstrap-stamp

.PHONY: demo test bootstrap lint unit clean-venv accel

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

bootstrap:
	bash scripts/bootstrap.sh

# Compile the hot modules that changed since the last build (dhcp6/accel/; ~90 s for all
# of them on 2 cores, nothing when they are current).
accel: $(STAMP)
	@$(PY) -m dhcp6.accel build --quiet || true

# The demo lab: our server and Kea behind a relay and a router, our clients and a
# dhclient (IA_NA + IA_PD); waits until every client is bound, shows the status table,
# writes the lab's HTML report (also when a client did not bind: it shows why), then
# removes the lab — also when something failed. The exit code is `lab up`'s.
demo: $(STAMP) accel
	@$(VENV)/bin/lab clean >/dev/null
	@$(VENV)/bin/lab up topologies/demo.yaml --name demo --wait-bound 30; rc=$$?; \
	  mkdir -p build; \
	  if $(VENV)/bin/lab report demo -o build/demo-report.html >/dev/null; then \
	    echo "demo report: $(CURDIR)/build/demo-report.html"; fi; \
	  $(VENV)/bin/lab down demo >/dev/null 2>&1; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# pytest's exit code is kept in build/pytest-exit-code so .ci/run can tell
# "no tests collected" (5) apart from a failure.
test: $(STAMP) accel lint
	@mkdir -p build
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; echo $$rc > build/pytest-exit-code; exit $$rc

unit: $(STAMP) accel
	$(PY) -m pytest -m "not netns and not interop" $(PYTEST_ARGS)
