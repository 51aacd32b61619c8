#!/usr/bin/env bash
# The long API fuzzing pass (issue 14): Schemathesis runs every operation of docs/openapi.yaml against the real app,
# 300 examples per operation and generation mode (positive and negative) with fresh random seeds each run.
# CI runs the same test with 10 derandomized examples each (tests/security/test_schemathesis.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SIGHTLINE_API_FUZZ_EXAMPLES="${SIGHTLINE_API_FUZZ_EXAMPLES:-300}" SIGHTLINE_FUZZ_RANDOM=1 \
  .venv/bin/python -m pytest -q -p no:cacheprovider tests/security/test_schemathesis.py -k operation_conforms "$@"
