# Sourced by the scripts that measure this machine (kernel-rates, row-length,
# validate-local): builds the release binary with the engine, makes a scratch config and
# store (removed on exit) so the user's own `local` hardware and calibration are left
# alone, and probes the machine. Sets `bin` and `scratch`; the probe is $scratch/probe.json.
cargo build --release --locked --features llama -p sizewise --bin sizewise >&2
bin=${CARGO_TARGET_DIR:-target}/release/sizewise
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME=$scratch/config SIZEWISE_STORE=$scratch/runs.db
unset SIZEWISE_CATALOG

echo "probe" >&2
"$bin" probe --seconds 10 --json >"$scratch/probe.json"
