# The two commands of the README: `make demo` and `make test`. Both install what they need first.
.PHONY: demo test test-unit lint bootstrap validate-deploy lock

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	@.venv/bin/python -m agent demo

test: bootstrap
	@bash scripts/test.sh

# The fast loop while coding: ruff and every test not marked e2e (no livekit-server, no browser).
# CI runs everything (`make test`).
test-unit: bootstrap
	@bash scripts/test.sh -m "not e2e"

lint: bootstrap
	@.venv/bin/ruff check agent tests bench

validate-deploy: bootstrap
	@bash scripts/validate-deploy.sh

lock:
	@bash deploy/lock.sh
