#!/usr/bin/env bash
# Side by side: `sizewise route` and LiteLLM's proxy in front of the same zero-delay
# `simulate` upstream, each driven by `sizewise bench` at a list of streamed request rates,
# with the direct path as the baseline. Prints, per path and rate, the achieved rate, errors
# and TTFT percentiles, the added TTFT, and each path's highest sustained rate (achieved at
# least 95% of the asked rate, under 0.1% errors, TTFT p99 under 100 ms).
#
#   scripts/route-vs-litellm.sh [RATES="25 50 100 1000 2000 4000"] [DURATION=10s]
#
# LiteLLM: set LITELLM to its `litellm` command, for instance after
#   python3 -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'
#   LITELLM=/tmp/litellm/bin/litellm scripts/route-vs-litellm.sh
# Without it, only sizewise and the direct path run. LiteLLM runs as in
# ../shared/reference/anchors-measured-here.md: no database, no callbacks, one process,
# LITELLM_WORKERS to change that.
set -euo pipefail
cd "$(dirname "$0")/.."
rates=${1:-"25 50 100 1000 2000 4000"}
duration=${2:-10s}

. scripts/route-scratch.sh
paths=("direct $upstream auto" "sizewise $gateway auto")

if [ -n "${LITELLM:-}" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$scratch/litellm.yaml" <<EOF
model_list:
  - model_name: mock-model
    litellm_params: {model: openai/mock-model, api_base: "$upstream", api_key: sk-dummy}
litellm_settings: {telemetry: false, drop_params: true, set_verbose: false, json_logs: false,
                   callbacks: [], success_callback: [], failure_callback: [], turn_off_message_logging: true}
general_settings: {disable_spend_logs: true, disable_error_logs: true,
                   disable_adding_master_key_hash_to_db: true, allow_requests_on_db_unavailable: true}
EOF
  key=sk-$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  LITELLM_MASTER_KEY=$key LITELLM_LOG=ERROR LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_TELEMETRY=False \
    "$LITELLM" --config "$scratch/litellm.yaml" --host 127.0.0.1 --port "$port" \
    --num_workers "${LITELLM_WORKERS:-1}" >"$scratch/litellm.log" 2>&1 &
  echo $! >>"$scratch/pids"
  for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$port/health/liveliness" >/dev/null 2>&1 && break
    sleep 0.2
  done
  export LITELLM_KEY=$key
  paths+=("litellm http://127.0.0.1:$port/v1 mock-model")
fi

for p in "${paths[@]}"; do
  read -r name url model <<<"$p"
  for r in $rates; do
    key_args=()
    [ "$name" = litellm ] && key_args=(--api-key-env LITELLM_KEY)
    echo "$name at $r req/s" >&2
    "$bin" bench "$url" -m "$model" "${key_args[@]}" --rate "$r" --arrival constant \
      --duration "$duration" --prompt-tokens 32 --output-tokens 8 --warmup 20 --timeout 30 \
      --json >"$scratch/$name-$r.json" 2>"$scratch/$name-$r.err" || true
  done
done

python3 - "$scratch" "$rates" "${paths[@]}" <<'PY'
import json, os, sys
scratch, rates = sys.argv[1], [int(r) for r in sys.argv[2].split()]
names = [p.split()[0] for p in sys.argv[3:]]
def load(name, r):
    p = f"{scratch}/{name}-{r}.json"
    if not os.path.exists(p) or os.path.getsize(p) == 0:
        return None
    v = json.load(open(p))
    errs = v["errors"]
    errs = sum(errs.values()) if isinstance(errs, dict) else errs
    t = v.get("ttft_ms") or {}
    return {"rate": v["achieved_rate"], "errors": errs, "sent": v["sent"],
            "p50": t.get("p50"), "p99": t.get("p99")}
print(f"{'path':>9} {'asked':>6} {'req/s':>8} {'errors':>7} {'TTFT p50':>9} {'p99':>9} {'added p50':>10} {'added p99':>10}")
best = {}
for name in names:
    for r in rates:
        x = load(name, r); d = load("direct", r)
        if x is None:
            print(f"{name:>9} {r:>6}   (no result)"); continue
        f = lambda v: "-" if v is None else f"{v:.3f}"
        add = lambda k: "-" if (x[k] is None or d is None or d[k] is None or name == "direct") else f"{x[k]-d[k]:+.3f}"
        print(f"{name:>9} {r:>6} {x['rate']:>8.1f} {x['errors']:>7} {f(x['p50']):>9} {f(x['p99']):>9} {add('p50'):>10} {add('p99'):>10}")
        ok = (x["rate"] >= 0.95 * r and x["errors"] <= 0.001 * max(x["sent"], 1)
              and x["p99"] is not None and x["p99"] < 100)
        if ok:
            best[name] = max(best.get(name, 0), r)
for name in names:
    print(f"{name}: highest sustained rate tried {best.get(name, 'none')} req/s")
PY
