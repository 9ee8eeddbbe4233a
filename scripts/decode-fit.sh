#!/usr/bin/env bash
# Fits llama.cpp's CPU decode costs on this machine, the priors of
# crates/sizewise-estimate/src/priors.rs (docs/VALIDATION.md, "A fit over 22 files"):
# - the share of the one-thread f32 peak each tensor type's matrix-vector kernel reaches
#   (`cpu_decode_kernel`);
# - the pass over the logits per vocabulary entry (`CPU_LOGIT_COST`);
# - the small ops per layer (the per-layer prior of llama.cpp on CPUs).
# Synthetic SmolLM2-135M, SmolLM2-360M, Qwen2.5-0.5B and Llama 3.2 1B files (`sizewise synth`)
# in q4_k_m, q4_0, q4_1, q5_0 and q8_0, and the real test models, are each measured by
# `bench --gguf` on one thread after a short prompt. The attention over the cache, priced by
# its own priors, is taken off each step; least squares (python3 with numpy) fit the rest.
# Prints the fit, and each file's measurement beside the estimate of the priors in the code.
# About 6 minutes with three rounds; runs in a scratch config and store.
#
#   scripts/decode-fit.sh [PROMPT_TOKENS=16] [OUTPUT_TOKENS=64] [REPETITIONS=2]
#   ROUNDS=3 SIZEWISE_FIT_DIR=/dev/shm/fit scripts/decode-fit.sh
set -euo pipefail
cd "$(dirname "$0")/.."

prompt=${1:-16}
output=${2:-64}
reps=${3:-2}
python3 -c 'import numpy' 2>/dev/null || { echo "needs python3 with numpy (Debian: python3-numpy)" >&2; exit 2; }

test_models=1
. scripts/local-scratch.sh
# The synthetic files, written once (about 8 GB; SIZEWISE_FIT_DIR puts them elsewhere, a
# tmpfs for instance), then ROUNDS rounds over every file: a shared machine drifts by
# several percent over minutes, and each file's median over rounds spread across the run
# keeps that drift from reading as a difference between files.
files_dir=${SIZEWISE_FIT_DIR:-$scratch}
mkdir -p "$files_dir"
names=(real-smollm2-135m real-gemma-3-270m)
paths=("$models/SmolLM2-135M-Instruct.Q4_1.gguf" "$models/gemma-3-270m-q4_k_m.gguf")
# Removes the scratch folder and the synthetic files (every path after the two real ones).
trap 'rm -rf "$scratch"; for f in "${paths[@]:2}"; do rm -f "$f"; done' EXIT
for m in smollm2-135m smollm2-360m qwen2.5-0.5b llama-3.2-1b; do
  for p in q4_k_m q4_0 q4_1 q5_0 q8_0; do
    echo "synth $m $p" >&2
    "$bin" synth "$m" --precision "$p" -o "$files_dir/$m.$p.gguf" --force --json >/dev/null
    names+=("$m.$p")
    paths+=("$files_dir/$m.$p.gguf")
  done
done
rounds=${ROUNDS:-3}
for r in $(seq "$rounds"); do
  for i in "${!names[@]}"; do
    echo "round $r/$rounds: bench ${names[$i]}" >&2
    [ "$r" = 1 ] && "$bin" models show --gguf "${paths[$i]}" --json >"$scratch/${names[$i]}.model.json"
    "$bin" bench --gguf "${paths[$i]}" --prompt-tokens "$prompt" --output-tokens "$output" \
      --repetitions "$reps" --threads 1 --no-calibrate --json >"$scratch/${names[$i]}.$r.json"
  done
done

# SIZEWISE_FIT_RESULTS keeps the measurements (JSON) for another look.
if [ -n "${SIZEWISE_FIT_RESULTS:-}" ]; then
  mkdir -p "$SIZEWISE_FIT_RESULTS" && cp "$scratch"/*.json "$SIZEWISE_FIT_RESULTS"/
fi
python3 - "$scratch" "$prompt" "$output" <<'PY'
import glob, json, os, sys
import numpy as np
d, prompt, output = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
probe = json.load(open(os.path.join(d, "probe.json")))
peak = probe["matmul"]["single_thread"]["flops_per_s"]
# The attention priors (CPU_ATTENTION_SHARE, CPU_ATTENTION_PAIR_COST).
ATT_SHARE, ATT_PAIR = 0.6, 1400.0
names, rows, y, est, meas, att = [], [], [], [], [], []
types = ["Q4_K", "Q4_0", "Q4_1", "Q6_K", "Q5_0", "Q8_0"]
for f in sorted(glob.glob(os.path.join(d, "*.model.json"))):
    name = os.path.basename(f)[: -len(".model.json")]
    a = json.load(open(f))["architecture"]
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, name + ".[0-9]*.json")))]
    b = runs[0]
    w = {}
    for t in b["weights_by_type"]:
        if t["decode"]:
            e = w.setdefault(t["type"], {"params": 0.0, "rows": 0.0})
            e["params"] += t["params"]
            e["rows"] += t["rows"]
    if set(w) - set(types):
        print(f"skipped {name}: types {sorted(set(w) - set(types))} not in the fit")
        continue
    ctx = prompt + output / 2
    every = a.get("full_attention_every")
    window = a.get("sliding_window")
    full = a["layers"] // every if (window and every) else (0 if window else a["layers"])
    pairs = a["heads"] * (full * ctx + (a["layers"] - full) * min(ctx, window or ctx))
    attention = pairs * (4 * a["head_dim"] / ATT_SHARE + 2 * ATT_PAIR) / peak
    tpot = float(np.median([1 / v["decode_tokens_per_s"]["mean"] for v in runs]))
    x = [w.get(t, {}).get("params", 0) for t in types]
    x += [a["layers"], a["vocab"]]
    names.append(name); rows.append(x); y.append(tpot - attention)
    meas.append(1 / tpot); att.append(attention)
    est.append(b["estimate"].get("decode_tokens_per_s") or float("nan"))
A, Y = np.array(rows, float), np.array(y)
used = A.any(axis=0)
scale = np.where(used, A.max(axis=0), 1.0)
sol = np.zeros(A.shape[1])
sol[used] = np.linalg.lstsq(A[:, used] / scale[used], Y, rcond=None)[0] / scale[used]
fit = A @ sol
print(f"probe: {peak / 1e9:.1f} GFLOP/s f32 on one thread; bench: 1 thread, {prompt} prompt + "
      f"{output} output tokens, the median of {len(runs)} rounds\n")
print("| file | decode measured (tokens/s) | fit | estimate of the priors in the code |")
print("|---|---|---|---|")
for n, m, f, a, e in zip(names, meas, fit, att, est):
    fitted = 1 / (f + a)
    print(f"| {n} | {m:.1f} | {fitted:.1f} ({fitted / m - 1:+.1%}) | {e:.1f} ({e / m - 1:+.1%}) |")
print()
for i, t in enumerate(types):
    if used[i]:
        print(f"cpu_decode_kernel(\"{t}\"): {2 / (sol[i] * peak):.2f} of the f32 peak")
print(f"per layer: {sol[-2] * 1e6:.1f} us")
print(f"CPU_LOGIT_COST: {sol[-1] * peak / 2:.0f} multiply-adds per vocabulary entry")
print(f"RMS error of the fit: {np.sqrt(np.mean((fit / Y - 1) ** 2)):.1%} over {len(Y)} files")
PY
