#!/usr/bin/env bash
# The gateway's overhead: `sizewise bench` straight to a zero-delay `simulate` upstream and
# through `sizewise route` in front of it, alternating in one run, at a fixed rate of streamed
# requests. Prints each round's TTFT percentiles and the added TTFT (gateway minus direct).
#
#   scripts/route-overhead.sh [RATE=1000] [DURATION=10s] [ROUNDS=3]
#
# Everything (load generator, gateway, upstream) shares this machine's cores, as in
# ../shared/reference/anchors-measured-here.md; compare the two paths within one run.
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-1000}
duration=${2:-10s}
rounds=${3:-3}

. scripts/route-scratch.sh
echo "upstream $upstream, gateway $gateway; $rate req/s for $duration, $rounds rounds" >&2

bench() {
  "$bin" bench "$1" -m auto --rate "$rate" --arrival constant --duration "$duration" \
    --prompt-tokens 32 --output-tokens 8 --warmup 200 --json
}

for r in $(seq "$rounds"); do
  bench "$upstream" >"$scratch/direct-$r.json"
  bench "$gateway" >"$scratch/gateway-$r.json"
done

python3 - "$scratch" "$rounds" <<'PY'
import json, sys
scratch, rounds = sys.argv[1], int(sys.argv[2])
def load(p):
    v = json.load(open(p))
    t = v["ttft_ms"]
    return {"p50": t["p50"], "p99": t["p99"], "rate": v["achieved_rate"],
            "errors": sum(v["errors"].values()) if isinstance(v["errors"], dict) else v["errors"],
            "n": t["n"]}
print(f"{'round':>5} {'path':>8} {'req/s':>8} {'n':>6} {'errors':>6} {'TTFT p50 ms':>12} {'TTFT p99 ms':>12}")
adds = []
for r in range(1, rounds + 1):
    d = load(f"{scratch}/direct-{r}.json"); g = load(f"{scratch}/gateway-{r}.json")
    for name, x in (("direct", d), ("gateway", g)):
        print(f"{r:>5} {name:>8} {x['rate']:>8.1f} {x['n']:>6} {x['errors']:>6} {x['p50']:>12.3f} {x['p99']:>12.3f}")
    adds.append((g["p50"] - d["p50"], g["p99"] - d["p99"]))
for r, (a50, a99) in enumerate(adds, 1):
    print(f"round {r}: added TTFT p50 {a50:+.3f} ms, p99 {a99:+.3f} ms")
a50 = sorted(a for a, _ in adds)[len(adds) // 2]
a99 = sorted(b for _, b in adds)[len(adds) // 2]
print(f"median over rounds: added TTFT p50 {a50:+.3f} ms, p99 {a99:+.3f} ms")
PY
