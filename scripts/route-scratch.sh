# Sourced by the scripts that measure `sizewise route` (route-overhead, route-vs-litellm):
# builds the release binary, makes a scratch store (removed on exit, with every server
# started here), starts a zero-delay `simulate` upstream and a gateway in front of it with
# the minimal configuration. Sets `bin`, `scratch`, `upstream` and `gateway` (API base URLs)
# and the function `start`.
cargo build --release --locked -p sizewise --bin sizewise >&2
bin=${CARGO_TARGET_DIR:-target}/release/sizewise
scratch=$(mktemp -d)
# Servers start inside $(...), a subshell: their pids go to a file the cleanup reads.
cleanup() { [ -f "$scratch/pids" ] && kill $(cat "$scratch/pids") 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT
export SIZEWISE_STORE=$scratch/runs.db
unset SIZEWISE_CATALOG

# Starts a server whose first stdout line is JSON with "url"; prints the url.
start() {
  local out=$1; shift
  "$bin" "$@" >"$out" 2>"$out.err" &
  echo $! >>"$scratch/pids"
  for _ in $(seq 100); do
    if [ -s "$out" ]; then python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["url"])' "$out"; return; fi
    sleep 0.1
  done
  echo "server did not start: $(cat "$out.err")" >&2; exit 1
}

upstream=$(start "$scratch/sim.out" simulate sim --ttft-ms 0 --tpot-ms 0 --port 0 --json)
cat >"$scratch/route.toml" <<EOF
listen = "127.0.0.1:0"
[[upstream]]
name = "small"
model = "smollm2-135m"
url = "$upstream"
local = true
[[upstream]]
name = "large"
model = "llama-3.1-70b"
url = "$upstream"
[policy]
default = "small"
EOF
gateway=$(start "$scratch/route.out" route --config "$scratch/route.toml" --json)
