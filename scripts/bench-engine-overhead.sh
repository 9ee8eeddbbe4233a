#!/usr/bin/env bash
# The engine-overhead benchmark: generation speed of `sizewise bench --gguf` against a bare
# llama-cpp-2 program (crates/sizewise-engine/examples/bare_llama.rs) on the same file, prompt
# ids, threads and machine. The two alternate ROUNDS times in one run, so that a change in
# the machine's load hits both; the ratio is bench --gguf over bare, per round and overall.
#
#   scripts/bench-engine-overhead.sh [MODEL.gguf] [PROMPT_TOKENS=512] [OUTPUT_TOKENS=128] [THREADS=1] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf}
prompt=${2:-512}
output=${3:-128}
threads=${4:-1}
rounds=${5:-3}
[ -f "$model" ] || { echo "no model at $model: run scripts/fetch-test-models.sh, or pass a GGUF file" >&2; exit 2; }

cargo build --release --locked --features llama -p sizewise -p sizewise-engine --bin sizewise --example bare_llama >&2
target=${CARGO_TARGET_DIR:-target}/release

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq 1 "$rounds"); do
  echo "round $round/$rounds" >&2
  bare=$("$target/examples/bare_llama" "$model" "$prompt" "$output" "$threads" 3)
  engine=$("$target/sizewise" bench --gguf "$model" --prompt-tokens "$prompt" --output-tokens "$output" \
    --threads "$threads" --repetitions 3 --no-store --no-calibrate --json)
  printf '%s\t%s\n' "$bare" "$(printf '%s' "$engine" | tr -d '\n')" >>"$results"
done

python3 - "$results" "$model" <<'PY'
import json, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
bare = [json.loads(b)["decode_tokens_per_s"] for b, _ in rows]
engine = [json.loads(e)["decode_tokens_per_s"]["mean"] for _, e in rows]
first = json.loads(rows[0][0])
print(f"model {sys.argv[2]}, {first['threads']} threads, {first['prompt_tokens']} prompt + {first['output_tokens']} output tokens, 3 repetitions per program per round")
print("round  bare tokens/s  bench --gguf tokens/s  ratio")
for i, (b, e) in enumerate(zip(bare, engine), 1):
    print(f"{i:>5}  {b:>13.2f}  {e:>21.2f}  {e / b:.3f}")
print(f"  all  {sum(bare) / len(bare):>13.2f}  {sum(engine) / len(engine):>21.2f}  {sum(engine) / sum(bare):.3f}")
PY
