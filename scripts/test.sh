#!/usr/bin/env bash
# The test command of sizewise: installs what the tests need on a fresh Debian
# machine, fetches the small test models, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"; 
  else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"; fi
fi

if [ -x scripts/fetch-test-models.sh ]; then
  scripts/fetch-test-models.sh || echo "warning: test models not fetched; tests that need them will say they skipped"
fi

cargo test --workspace --all-targets --locked "$@"
cargo test --workspace --doc --locked
