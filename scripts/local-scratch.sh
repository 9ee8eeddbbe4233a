# Sourced by the scripts that measure this machine (kernel-rates, row-length, context-sweep,
# decode-fit, validate-local): builds the release binary with the engine, makes a scratch
# config and store (removed on exit) so the user's own `local` hardware and calibration are
# left alone, and probes the machine. Sets `bin` and `scratch`; the probe is
# $scratch/probe.json.
# With `test_models=1` set before sourcing, it first checks that the real test models are
# there (SIZEWISE_MODELS_DIR, else .cache/models) and sets `models` to their folder.
if [ "${test_models:-}" = 1 ]; then
  models=${SIZEWISE_MODELS_DIR:-.cache/models}
  for f in SmolLM2-135M-Instruct.Q4_1.gguf gemma-3-270m-q4_k_m.gguf; do
    [ -f "$models/$f" ] || { echo "no $models/$f: run scripts/fetch-test-models.sh" >&2; exit 2; }
  done
fi
cargo build --release --locked --features llama -p sizewise --bin sizewise >&2
bin=${CARGO_TARGET_DIR:-target}/release/sizewise
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_CONFIG_HOME=$scratch/config SIZEWISE_STORE=$scratch/runs.db
unset SIZEWISE_CATALOG

echo "probe" >&2
"$bin" probe --seconds 10 --json >"$scratch/probe.json"
