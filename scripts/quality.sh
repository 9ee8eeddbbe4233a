#!/usr/bin/env bash
# Response quality of the two small test models on every built-in suite (docs/QUALITY.md):
# `sizewise eval` of SmolLM2-135M-Instruct Q4_1 and Gemma 3 270M Q4_K_M, one after the other,
# with the suites' default prompts, then `eval compare` on each pair. Prints the Markdown
# table. Runs in a scratch store, so your own results are left alone.
#
#   scripts/quality.sh [THREADS=1] [SUITE ...]
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${1:-1}
shift || true
models=${SIZEWISE_MODELS_DIR:-.cache/models}
a="$models/SmolLM2-135M-Instruct.Q4_1.gguf"
b="$models/gemma-3-270m-q4_k_m.gguf"
for f in "$a" "$b"; do
  [ -f "$f" ] || { echo "no $f: run scripts/fetch-test-models.sh" >&2; exit 2; }
done

cargo build --release --locked --features llama -p sizewise --bin sizewise >&2
bin=${CARGO_TARGET_DIR:-target}/release/sizewise
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export SIZEWISE_STORE=$scratch/runs.db

if [ $# -gt 0 ]; then
  suites=("$@")
else
  mapfile -t suites < <("$bin" eval list --json | python3 -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]')
fi

for s in "${suites[@]}"; do
  for m in a b; do
    file=${!m}
    echo "eval $s $(basename "$file")" >&2
    "$bin" eval --suite "$s" --gguf "$file" --threads "$threads" --json >"$scratch/$s.$m.json"
  done
  ra=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$scratch/$s.a.json")
  rb=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run_id"])' "$scratch/$s.b.json")
  "$bin" eval compare "$ra" "$rb" --json >"$scratch/$s.cmp.json"
done

python3 scripts/quality-table.py "$scratch" "${suites[@]}"
