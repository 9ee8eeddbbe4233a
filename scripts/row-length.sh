#!/usr/bin/env bash
# Does a type's CPU decode kernel slow down on short rows? Synthetic SmolLM2-135M, Qwen2.5-0.5B
# and Llama 3.2 1B files (`sizewise synth`: rows of 576, 896 and 2048 weights) in q4_1 and
# q4_0, each measured by `bench --gguf` on one thread beside the estimate for hardware
# `local` before calibration. Prints a Markdown table (docs/VALIDATION.md, "Row length").
# Runs in a scratch config and store; the files take about 1.5 GB while it runs.
#
#   scripts/row-length.sh [PROMPT_TOKENS=256] [OUTPUT_TOKENS=64] [REPETITIONS=3]
#   ROW_TYPES="q4_k_m q8_0" scripts/row-length.sh    # other precisions (default: q4_1 q4_0)
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-256}
output=${2:-64}
reps=${3:-3}
. scripts/local-scratch.sh
models=(smollm2-135m qwen2.5-0.5b llama-3.2-1b)
read -r -a types <<<"${ROW_TYPES:-q4_1 q4_0}"
for m in "${models[@]}"; do
  for p in "${types[@]}"; do
    echo "synth + bench $m $p" >&2
    "$bin" synth "$m" --precision "$p" -o "$scratch/$m.$p.gguf" --json >/dev/null
    "$bin" bench --gguf "$scratch/$m.$p.gguf" --prompt-tokens "$prompt" --output-tokens "$output" \
      --repetitions "$reps" --threads 1 --no-calibrate --json >"$scratch/$m.$p.json"
    rm -f "$scratch/$m.$p.gguf"
  done
done

python3 - "$scratch" "${types[@]}" <<'PY'
import json, os, sys
d, types = sys.argv[1], sys.argv[2:]
probe = json.load(open(os.path.join(d, "probe.json")))
one = probe["matmul"]["single_thread"]["flops_per_s"]
print(f"probe: f32 matmul {one / 1e9:.1f} GFLOP/s on one thread\n")
print("| file (synthetic) | decode measured (tokens/s) | estimate | estimate / measured |")
print("|---|---|---|---|")
for m in ["smollm2-135m", "qwen2.5-0.5b", "llama-3.2-1b"]:
    for p in types:
        v = json.load(open(os.path.join(d, f"{m}.{p}.json")))
        meas = v["decode_tokens_per_s"]
        est = v["estimate"].get("decode_tokens_per_s") or 0.0
        print(f"| {m} {p} | {meas['mean']:.1f} ± {meas['sd']:.1f} | {est:.1f} | {est / meas['mean']:.2f} |")
PY
