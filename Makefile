# Two commands for a newcomer: `make demo` and `make test` (see README.md).
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.bootstrap-stamp

.PHONY: demo test bootstrap lint unit clean-venv

$(STAMP): pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh

bootstrap:
	bash scripts/bootstrap.sh

demo: $(STAMP)
	$(VENV)/bin/dhcp6 decode --pcap tests/data/captures/kea-dhclient-na-pd-renew-rebind.pcap

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# pytest's exit code is kept in build/pytest-exit-code so .ci/run can tell
# "no tests collected" (5) apart from a failure.
test: $(STAMP) lint
	@mkdir -p build
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; echo $$rc > build/pytest-exit-code; exit $$rc

unit: $(STAMP)
	$(PY) -m pytest -m "not netns and not interop" $(PYTEST_ARGS)
