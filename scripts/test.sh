#!/usr/bin/env bash
# The test command of sizewise: installs what the tests need on a fresh Debian
# machine, fetches the small test models, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
# sizewise-engine builds llama.cpp from source: cmake, and libclang for its bindings.
command -v cmake >/dev/null || need_apt+=(cmake)
if command -v dpkg >/dev/null && ! dpkg -s libclang-dev >/dev/null 2>&1; then need_apt+=(libclang-dev); fi
# The report's browser test opens it in headless Chromium (it skips where there is none and
# this is not a Debian system).
if command -v dpkg >/dev/null && ! command -v chromium >/dev/null; then need_apt+=(chromium); fi
# The gateway's shared-ledger test runs against a throwaway PostgreSQL server.
if command -v dpkg >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then need_apt+=(postgresql); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"; 
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"; fi
fi

if [ -x scripts/fetch-test-models.sh ]; then
  scripts/fetch-test-models.sh || echo "warning: test models not fetched; tests that need them will say they skipped"
fi

if [ -z "${SIZEWISE_TEST_POSTGRES:-}" ]; then
  pgdir=$(mktemp -d)
  if url=$(scripts/test-postgres.sh start "$pgdir"); then
    export SIZEWISE_TEST_POSTGRES=$url
    trap 'scripts/test-postgres.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
  else
    echo "warning: no PostgreSQL server started; the shared-ledger test will say it skipped"
  fi
fi

# --all-features brings in the binary's `llama` feature (bench --gguf, serve).
cargo test --workspace --all-features --all-targets --locked "$@"
cargo test --workspace --all-features --doc --locked
