#!/usr/bin/env bash
# Does the estimate follow decoding as the cache grows? The four models of
# scripts/validate-local.sh (Gemma 3 270M Q4_K_M, SmolLM2-135M Q4_1, and synthetic Qwen2.5-0.5B
# and Llama 3.2 1B Q4_K_M), each measured by `bench --gguf` on one thread after prompts of
# several lengths, beside the estimate for hardware `local` before calibration. Prints a
# Markdown table (docs/VALIDATION.md, "Attention on a CPU"). Runs in a scratch config and store.
#
#   scripts/context-sweep.sh [OUTPUT_TOKENS=64] [REPETITIONS=2]
#   PROMPTS="16 512 1024" scripts/context-sweep.sh      # the prompt lengths (default)
set -euo pipefail
cd "$(dirname "$0")/.."

output=${1:-64}
reps=${2:-2}
read -r -a prompts <<<"${PROMPTS:-16 512 1024}"

test_models=1
. scripts/local-scratch.sh
for m in qwen2.5-0.5b llama-3.2-1b; do
  "$bin" synth "$m" --precision q4_k_m -o "$scratch/$m.synth.gguf" --json >/dev/null
done
files=("$models/gemma-3-270m-q4_k_m.gguf" "$models/SmolLM2-135M-Instruct.Q4_1.gguf"
  "$scratch/qwen2.5-0.5b.synth.gguf" "$scratch/llama-3.2-1b.synth.gguf")
for i in "${!files[@]}"; do
  for p in "${prompts[@]}"; do
    echo "bench $(basename "${files[$i]}") after $p prompt tokens" >&2
    "$bin" bench --gguf "${files[$i]}" --prompt-tokens "$p" --output-tokens "$output" \
      --repetitions "$reps" --threads 1 --no-calibrate --json >"$scratch/$i.$p.json"
  done
done

python3 - "$scratch" "${#files[@]}" "${prompts[@]}" <<'PY'
import json, os, sys
d, n, prompts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print("| model | " + " | ".join(f"after {p} prompt tokens: measured, estimate" for p in prompts) + " |")
print("|---|" + "---|" * len(prompts))
for i in range(n):
    cells, name = [], ""
    for p in prompts:
        v = json.load(open(os.path.join(d, f"{i}.{p}.json")))
        name = v["model"]
        m, e = v["decode_tokens_per_s"]["mean"], v["estimate"].get("decode_tokens_per_s")
        cells.append(f"{m:.1f}, {e:.1f} ({(e / m - 1) * 100:+.0f}%)" if e else f"{m:.1f}, -")
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
