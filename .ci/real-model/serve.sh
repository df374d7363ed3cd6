#!/usr/bin/env bash
# Start, stop or check the real-model tier's servers (installed by install.sh), on 127.0.0.1 only.
#
#   serve.sh start    chat server on $PERSONABOT_REAL_MODEL_PORT (default 8089) and, when the
#                     embedding model exists, an embedding server on port+1; waits for /health
#   serve.sh stop     stops both (by their pid files)
#   serve.sh status   prints what runs; exit 0 when the chat server is healthy, 3 when not
#
# `start` prints, and writes to $CACHE/run/real-model.env, lines a test harness can source:
#   PERSONABOT_REAL_MODEL_BASE_URL=http://127.0.0.1:8089/v1
#   PERSONABOT_REAL_MODEL_NAME=qwen2.5-coder-1.5b-instruct
#   PERSONABOT_REAL_EMBED_BASE_URL=http://127.0.0.1:8090/v1     (empty without embeddings)
#   PERSONABOT_REAL_EMBED_MODEL=all-minilm-l6-v2                 (empty without embeddings)
#
# Settings (environment): PERSONABOT_CACHE, PERSONABOT_REAL_MODEL_PORT, PERSONABOT_REAL_MODEL_CTX
# (context window, default 4096), PERSONABOT_REAL_MODEL_SEED (default 42),
# PERSONABOT_REAL_MODEL_TIMEOUT (seconds to wait for /health, default 180),
# PERSONABOT_REAL_MODEL_ARGS (extra llama-server arguments for the chat server).
set -euo pipefail

CACHE="${PERSONABOT_CACHE:-$HOME/.cache/personabot}"
PORT="${PERSONABOT_REAL_MODEL_PORT:-8089}"
EPORT=$((PORT + 1))
CTX="${PERSONABOT_REAL_MODEL_CTX:-4096}"
SEED="${PERSONABOT_REAL_MODEL_SEED:-42}"
TIMEOUT="${PERSONABOT_REAL_MODEL_TIMEOUT:-180}"
EXTRA="${PERSONABOT_REAL_MODEL_ARGS:-}"

BIN="$CACHE/bin/llama-server"
PY="$CACHE/venv/bin/python"
CHAT_MODEL="$CACHE/models/qwen2.5-coder-1.5b-instruct.gguf"
CHAT_NAME="qwen2.5-coder-1.5b-instruct"
EMBED_MODEL="$CACHE/models/all-minilm-l6-v2.gguf"
EMBED_NAME="all-minilm-l6-v2"
RUN="$CACHE/run"
LOGS="$CACHE/logs"
ENVFILE="$RUN/real-model.env"
mkdir -p "$RUN" "$LOGS"

log() { echo "[real-model serve] $*" >&2; }

healthy() { curl -fsS -m 2 "http://127.0.0.1:$1/health" >/dev/null 2>&1; }

pid_alive() {  # name -> 0 if its pid file names a live process of ours
  local f="$RUN/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa -- "--port" "/proc/$pid/cmdline" 2>/dev/null
}

model_ids() {  # port -> the model ids /v1/models reports, comma-separated
  curl -fsS -m 5 "http://127.0.0.1:$1/v1/models" 2>/dev/null \
    | python3 -c 'import json,sys; print(",".join(m["id"] for m in json.load(sys.stdin).get("data", [])))' 2>/dev/null || true
}

launch() {  # name port args... : start in the background, own session, log + pid file
  local name="$1" port="$2"; shift 2
  if pid_alive "$name"; then log "$name already running (pid $(cat "$RUN/$name.pid"))"; return 0; fi
  if healthy "$port"; then log "port $port already serves something not started by this script"; exit 1; fi
  : >"$LOGS/$name.log"
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  log "$name: pid $!, log $LOGS/$name.log"
}

wait_healthy() {  # name port
  local name="$1" port="$2" t0 waited
  t0=$(date +%s%N)
  while ! healthy "$port"; do
    if ! pid_alive "$name"; then log "$name exited during start-up; last lines of its log:"; tail -n 30 "$LOGS/$name.log" >&2; return 1; fi
    waited=$(( ($(date +%s%N) - t0) / 1000000000 ))
    if [ "$waited" -ge "$TIMEOUT" ]; then log "$name not healthy after ${TIMEOUT}s; last lines of its log:"; tail -n 30 "$LOGS/$name.log" >&2; return 1; fi
    sleep 0.2
  done
  log "$name healthy on 127.0.0.1:$port after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}

chat_cmd() {
  if [ -x "$BIN" ]; then
    # --jinja: the GGUF's own chat template; one slot (--parallel 1), as a small local server runs.
    # shellcheck disable=SC2206
    CMD=("$BIN" -m "$CHAT_MODEL" --alias "$CHAT_NAME" --host 127.0.0.1 --port "$PORT" \
      --jinja --ctx-size "$CTX" --threads 2 --threads-batch 2 --parallel 1 --seed "$SEED" --no-webui $EXTRA)
  else
    # fallback runtime (install.sh says when it was used)
    CMD=("$PY" -m llama_cpp.server --model "$CHAT_MODEL" --model_alias "$CHAT_NAME" --host 127.0.0.1 --port "$PORT" \
      --n_ctx "$CTX" --n_threads 2 --n_threads_batch 2 --logits_all false --seed "$SEED")
  fi
}

embed_cmd() {
  if [ -x "$BIN" ]; then
    # BERT: 512-token window; batch = ubatch = ctx so a whole input fits one pass.
    CMD=("$BIN" -m "$EMBED_MODEL" --alias "$EMBED_NAME" --host 127.0.0.1 --port "$EPORT" \
      --embedding --pooling mean --ctx-size 512 --batch-size 512 --ubatch-size 512 --threads 2 --parallel 1 --no-webui)
  else
    CMD=("$PY" -m llama_cpp.server --model "$EMBED_MODEL" --model_alias "$EMBED_NAME" --host 127.0.0.1 --port "$EPORT" \
      --n_ctx 512 --n_threads 2 --embedding true --logits_all false)
  fi
}

write_env() {
  local chat_ids embed_url="" embed_ids=""
  chat_ids="$(model_ids "$PORT")"
  if healthy "$EPORT" && pid_alive embed; then embed_url="http://127.0.0.1:$EPORT/v1"; embed_ids="$(model_ids "$EPORT")"; fi
  {
    echo "PERSONABOT_REAL_MODEL_BASE_URL=http://127.0.0.1:$PORT/v1"
    echo "PERSONABOT_REAL_MODEL_NAME=${chat_ids%%,*}"
    echo "PERSONABOT_REAL_EMBED_BASE_URL=$embed_url"
    echo "PERSONABOT_REAL_EMBED_MODEL=${embed_ids%%,*}"
  } >"$ENVFILE"
  cat "$ENVFILE"
}

start() {
  [ -f "$CHAT_MODEL" ] || { log "no chat model at $CHAT_MODEL: run install.sh first"; exit 1; }
  [ -x "$BIN" ] || "$PY" -c 'import llama_cpp.server' 2>/dev/null || { log "no server installed: run install.sh first"; exit 1; }
  chat_cmd; launch chat "$PORT" "${CMD[@]}"
  if [ -f "$EMBED_MODEL" ]; then
    embed_cmd; launch embed "$EPORT" "${CMD[@]}"
  else
    log "no embedding model: embeddings unavailable, the tier runs on the lexical fallback"
  fi
  wait_healthy chat "$PORT" || { stop; exit 1; }
  if [ -f "$EMBED_MODEL" ] && ! wait_healthy embed "$EPORT"; then
    log "embedding server failed; stopping it, the tier runs on the lexical fallback"
    stop_one embed
  fi
  write_env
}

stop_one() {
  local name="$1" pid
  if pid_alive "$name"; then
    pid="$(cat "$RUN/$name.pid")"
    # llama-server shuts down gracefully on the first TERM but waits for a request in progress;
    # a second TERM makes it exit at once; KILL if even that does not work.
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done; fi
    if kill -0 "$pid" 2>/dev/null; then log "$name (pid $pid) ignored TERM twice; killing"; kill -9 "$pid" 2>/dev/null || true; fi
    log "$name stopped (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

stop() { stop_one embed; stop_one chat; rm -f "$ENVFILE"; }

status() {
  local rc=3
  for pair in "chat:$PORT" "embed:$EPORT"; do
    name="${pair%%:*}"; port="${pair##*:}"
    if pid_alive "$name"; then
      if healthy "$port"; then
        echo "$name: running (pid $(cat "$RUN/$name.pid")), healthy, http://127.0.0.1:$port/v1, models: $(model_ids "$port")"
        [ "$name" = chat ] && rc=0
      else
        echo "$name: running (pid $(cat "$RUN/$name.pid")), not healthy yet, http://127.0.0.1:$port/v1"
      fi
    else
      echo "$name: stopped"
    fi
  done
  return $rc
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  restart) stop; start ;;
  *) echo "usage: $0 start|stop|status|restart" >&2; exit 2 ;;
esac
