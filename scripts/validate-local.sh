#!/usr/bin/env bash
# Estimate against measurement on this machine (docs/VALIDATION.md, "This machine"):
# `sizewise probe`, then `bench --gguf` on Gemma 3 270M Q4_K_M (which writes the calibration),
# SmolLM2-135M Q4_1, and synthetic Qwen2.5-0.5B and Llama 3.2 1B Q4_K_M files (`sizewise
# synth`; the Llama one also with --no-mmap), each measured with the estimate before calibration and after calibrating on
# Gemma 3 270M (or the model CALIBRATE_ON names). Prints the Markdown table. Runs in a scratch config and store, so your own
# `local` hardware entry and calibration are left alone.
#
#   scripts/validate-local.sh [PROMPT_TOKENS=256] [OUTPUT_TOKENS=64] [REPETITIONS=3]
#   CALIBRATE_ON=llama scripts/validate-local.sh       # calibrate on another of the four
#   ROUNDS=3 scripts/validate-local.sh                 # three cycles, and each error's median
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-256}
output=${2:-64}
reps=${3:-3}

test_models=1
. scripts/local-scratch.sh
for m in qwen2.5-0.5b llama-3.2-1b; do
  echo "synth $m" >&2
  "$bin" synth "$m" --precision q4_k_m -o "$scratch/$m.synth.gguf" --json >/dev/null
done

bench() { # FILE OUT [extra args]
  local file=$1 out=$2; shift 2
  echo "bench --gguf $(basename "$file")" >&2
  "$bin" bench --gguf "$file" --prompt-tokens "$prompt" --output-tokens "$output" \
    --repetitions "$reps" --json "$@" >"$out"
}
# The calibration model is benchmarked first, and writes the calibration; the others are
# then measured beside the estimate before and after it. CALIBRATE_ON picks it: gemma
# (default), smollm2, qwen or llama.
files=("$models/gemma-3-270m-q4_k_m.gguf" "$models/SmolLM2-135M-Instruct.Q4_1.gguf"
  "$scratch/qwen2.5-0.5b.synth.gguf" "$scratch/llama-3.2-1b.synth.gguf")
case "${CALIBRATE_ON:-gemma}" in
  gemma) first=0 ;; smollm2) first=1 ;; qwen) first=2 ;; llama) first=3 ;;
  *) echo "CALIBRATE_ON must be gemma, smollm2, qwen or llama" >&2; exit 2 ;;
esac
# ROUNDS repeats the whole cycle (calibrate, then measure the others): this shared kind of
# machine drifts by several percent between runs, and the median over rounds of each
# model's error is steadier than one round's.
rounds=${ROUNDS:-1}
for r in $(seq "$rounds"); do
  n=1
  bench "${files[$first]}" "$scratch/$r.$n.json"
  for i in 0 1 2 3; do
    [ "$i" = "$first" ] && continue
    n=$((n + 1))
    bench "${files[$i]}" "$scratch/$r.$n.json" --no-calibrate
  done
  # The same file read into memory: peak RSS without the mapped pages of repacked weights.
  bench "$scratch/llama-3.2-1b.synth.gguf" "$scratch/$r.5.json" --no-calibrate --no-mmap
done

python3 - "$scratch" "$rounds" <<'PY'
import json, sys, os, statistics
d, rounds = sys.argv[1], int(sys.argv[2])
probe = json.load(open(os.path.join(d, "probe.json")))
rows = [json.load(open(os.path.join(d, f"1.{i}.json"))) for i in range(1, 6)]
first = rows[0]
print(f"probe: read bandwidth {probe['memory_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s (all cores), "
      f"f32 matmul {probe['matmul_f32_flops_per_s'] / 1e9:.1f} GFLOP/s; "
      f"bench: {first['threads']} thread(s), {first['prompt_tokens']} prompt + {first['output_tokens']} output tokens, "
      f"{first['repetitions']} repetitions; calibrated on {first['model']}\n")
print("| model | weights | parameters | file | decode measured (tokens/s) | estimate before calibration | after calibration | prefill measured (tokens/s) | before | after | peak RSS | estimated memory |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
def pct(m, e):
    return f"{e:.1f} ({(e / m - 1) * 100:+.0f}%)" if e else "-"
for i, v in enumerate(rows):
    e = v["estimate"]
    c = e.get("calibrated") or {}
    dm, pm = v["decode_tokens_per_s"], v["prefill_tokens_per_s"]
    after_d = "calibration model" if i == 0 else pct(dm["mean"], c.get("decode_tokens_per_s"))
    after_p = "calibration model" if i == 0 else pct(pm["mean"], c.get("prefill_tokens_per_s"))
    rss, mem = v["peak_rss_bytes"], e.get("peak_resident_bytes")
    mem_s = f"{mem / 2**20:.0f} MiB ({(mem / rss - 1) * 100:+.0f}%)" if mem else "-"
    name = v["model"] + ("" if v.get("mmap", True) else " (--no-mmap)")
    print(f"| {name} | {'synthetic' if v['synthetic'] else 'real'} | {v['parameters'] / 1e6:.0f}M "
          f"| {v['model_bytes'] / 2**20:.0f} MiB | {dm['mean']:.1f} ± {dm['sd']:.1f} | {pct(dm['mean'], e.get('decode_tokens_per_s'))} "
          f"| {after_d} | {pm['mean']:.1f} ± {pm['sd']:.1f} | {pct(pm['mean'], e.get('prefill_tokens_per_s'))} | {after_p} "
          f"| {rss / 2**20:.0f} MiB | {mem_s} |")
if rounds > 1:
    def err(m, e):
        return (e / m - 1) * 100 if e else float("nan")
    print(f"\nEach of {rounds} rounds calibrates on {first['model']} again, then measures the "
          "others; decode (generation) tokens/s, estimate over measurement:\n")
    print("| model | measured, each round | before calibration, each round | median | after calibration, each round | median |")
    print("|---|---|---|---|---|---|")
    for i in range(5):
        vs = [json.load(open(os.path.join(d, f"{r}.{i + 1}.json"))) for r in range(1, rounds + 1)]
        meas = [v["decode_tokens_per_s"]["mean"] for v in vs]
        before = [err(m, v["estimate"].get("decode_tokens_per_s")) for m, v in zip(meas, vs)]
        after = [err(m, (v["estimate"].get("calibrated") or {}).get("decode_tokens_per_s")) for m, v in zip(meas, vs)]
        name = vs[0]["model"] + ("" if vs[0].get("mmap", True) else " (--no-mmap)")
        fmt = lambda xs: ", ".join(f"{x:+.0f}%" for x in xs)
        after_cells = ("calibration model", "") if i == 0 else (fmt(after), f"{statistics.median(after):+.0f}%")
        print(f"| {name} | {', '.join(f'{m:.1f}' for m in meas)} | {fmt(before)} | {statistics.median(before):+.0f}% "
              f"| {after_cells[0]} | {after_cells[1]} |")
PY
