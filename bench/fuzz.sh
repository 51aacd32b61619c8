#!/usr/bin/env bash
# The long fuzzing pass (issue 14): 1,000 examples per importer format with fresh random seeds each run.
# CI runs the same tests with 10 fixed examples each (tests/security/test_fuzz_importers.py).
set -euo pipefail
cd "$(dirname "$0")/.."
SIGHTLINE_FUZZ_EXAMPLES="${SIGHTLINE_FUZZ_EXAMPLES:-1000}" SIGHTLINE_FUZZ_RANDOM=1 \
  .venv/bin/python -m pytest -q -p no:cacheprovider tests/security/test_fuzz_importers.py "$@"
