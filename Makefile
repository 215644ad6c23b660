# The two commands of the README: `make demo` and `make test`. Both install what they need first.
.PHONY: demo test test-unit lint bootstrap validate-deploy lock image-check

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

# Build the image on a Debian base made with debootstrap and run it read-only as uid 10001 against a
# test livekit-server: health, captions, metrics, minutes (root, podman; minutes, not part of CI).
image-check: bootstrap
	@bash scripts/image-check.sh
