#!/usr/bin/env bash
# How fast llama.cpp's CPU decode kernels run per GGUF tensor type on this machine: synthetic
# Llama 3.2 1B files (`sizewise synth`) in f16, q8_0, q5_0, q4_1, q4_0 and q4_k_m, each
# measured by `bench --gguf` on one thread, then a least-squares fit of each type's share of
# the one-thread f32 peak (the priors of `cpu_decode_kernel` in sizewise-estimate). Prints a
# Markdown table. Runs in a scratch config and store; the files take about 7 GB while it runs.
#
#   scripts/kernel-rates.sh [PROMPT_TOKENS=256] [OUTPUT_TOKENS=64] [REPETITIONS=3]
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-256}
output=${2:-64}
reps=${3:-3}
. scripts/local-scratch.sh
precisions=(f16 q8_0 q5_0 q4_1 q4_0 q4_k_m)
for p in "${precisions[@]}"; do
  echo "synth + bench llama-3.2-1b $p" >&2
  "$bin" synth llama-3.2-1b --precision "$p" -o "$scratch/$p.gguf" --json >/dev/null
  "$bin" bench --gguf "$scratch/$p.gguf" --prompt-tokens "$prompt" --output-tokens "$output" \
    --repetitions "$reps" --threads 1 --no-calibrate --json >"$scratch/$p.json"
  "$bin" estimate --gguf "$scratch/$p.gguf" --hardware local --threads 1 --no-calibration \
    --prompt-tokens "$prompt" --output-tokens "$output" --json >"$scratch/$p.estimate.json"
  rm -f "$scratch/$p.gguf"
done

python3 - "$scratch" "${precisions[@]}" <<'PY'
import json, os, sys
d, precisions = sys.argv[1], sys.argv[2:]
probe = json.load(open(os.path.join(d, "probe.json")))
print(f"probe: {probe['memory_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s read, "
      f"{probe['matmul_f32_flops_per_s'] / 1e9:.1f} GFLOP/s f32 on {probe['threads']} threads\n")
print("| file | decode measured (tokens/s) | estimate | estimate / measured |")
print("|---|---|---|---|")
for p in precisions:
    v = json.load(open(os.path.join(d, f"{p}.json")))
    e = v["estimate"]
    m = v["decode_tokens_per_s"]
    est = e.get("decode_tokens_per_s")
    ratio = f"{est / m['mean']:.2f}" if est else "-"
    print(f"| llama-3.2-1b {p} | {m['mean']:.2f} ± {m['sd']:.2f} | {est or 0:.2f} | {ratio} |")
PY
