#!/usr/bin/env python3
"""Smoke check of the real-model servers started by serve.sh (stdlib only, loopback only).

Checks what the real-model tier relies on and prints the figures: /v1/models, /props (n_ctx),
a persona chat (system + user), a JSON-schema constrained extraction, whether the template takes
a second system turn and two user turns in a row, max_tokens / max_completion_tokens / stop,
token speeds from `timings`, the shape of `usage`, and embeddings (cosine of a paraphrase vs an
unrelated sentence). Exits 1 when the chat server fails a check the tier cannot do without.

usage: smoke.py [CHAT_BASE_URL] [EMBED_BASE_URL]
  defaults: $PERSONABOT_REAL_MODEL_BASE_URL / $PERSONABOT_REAL_EMBED_BASE_URL, else
  http://127.0.0.1:8089/v1 and http://127.0.0.1:8090/v1 (the latter skipped if it does not answer)
"""
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request

CHAT = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PERSONABOT_REAL_MODEL_BASE_URL")) or "http://127.0.0.1:8089/v1"
EMBED = (sys.argv[2] if len(sys.argv) > 2 else os.environ.get("PERSONABOT_REAL_EMBED_BASE_URL")) or "http://127.0.0.1:8090/v1"
ROOT = CHAT.rsplit("/v1", 1)[0]
SEED = int(os.environ.get("PERSONABOT_REAL_MODEL_SEED", "42"))
failures = []


def call(url, body=None, timeout=120):
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null"), time.monotonic() - t0
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw), time.monotonic() - t0
        except ValueError:
            return e.code, raw.decode(errors="replace"), time.monotonic() - t0


def chat(messages, **kw):
    body = {"messages": messages, "temperature": 0, "seed": SEED, **kw}
    return call(CHAT + "/chat/completions", body)


def check(ok, what, detail=""):
    print(("  ok   " if ok else "  FAIL ") + what + (f": {detail}" if detail else ""))
    if not ok:
        failures.append(what)


def speeds(resp):
    t = resp.get("timings") or {}
    return (f"prompt {t.get('prompt_n')} tok @ {t.get('prompt_per_second', 0):.1f} tok/s, "
            f"generated {t.get('predicted_n')} tok @ {t.get('predicted_per_second', 0):.1f} tok/s")


print(f"chat server {CHAT}")
st, models, _ = call(CHAT + "/models")
check(st == 200 and models.get("data"), "/v1/models", json.dumps(models)[:600])
st, props, _ = call(ROOT + "/props")
if st == 200:
    gs = props.get("default_generation_settings", {})
    print(f"  /props: n_ctx={gs.get('n_ctx', props.get('n_ctx'))} total_slots={props.get('total_slots')} "
          f"model_path={props.get('model_path')} chat_template={'yes' if props.get('chat_template') else 'no'}")
else:
    print(f"  /props: HTTP {st}")

persona = ("You are Aria, a regular of this Discord server: a cheerful barista who loves cats and green tea. "
           "Stay in character; answer in one or two short sentences, in the first person, never as an AI assistant.")
st, r, dt = chat([{"role": "system", "content": persona},
                  {"role": "user", "content": "bob: hey Aria, do you like cats?"}], max_tokens=80)
content = r["choices"][0]["message"]["content"] if st == 200 else r
check(st == 200 and isinstance(content, str) and content.strip(), "persona chat (system + user)",
      f"{dt:.1f}s {json.dumps(content)[:300]}")
if st == 200:
    print(f"  usage: {json.dumps(r.get('usage'))}")
    print(f"  timings: {speeds(r)}")
    print(f"  finish_reason: {r['choices'][0].get('finish_reason')}, keys: {sorted(r.keys())}")

schema = {"type": "array", "items": {"type": "object", "properties": {
    "subject": {"type": "string"}, "fact": {"type": "string"}}, "required": ["subject", "fact"]}}
extract = [{"role": "system", "content": "Extract durable facts about the members from the chat log. Answer with a JSON array of objects {\"subject\", \"fact\"}."},
           {"role": "user", "content": "[10:01] carol: I moved to Lisbon last month\n[10:02] dave: lol nice\n[10:03] dave: I'm allergic to peanuts btw\n[10:04] carol: good morning everyone"}]
for label, extra in (("response_format json_schema", {"response_format": {"type": "json_schema", "json_schema": {"name": "facts", "schema": schema}}}),
                     ("response_format json_object + schema", {"response_format": {"type": "json_object", "schema": schema}}),
                     ("top-level json_schema", {"json_schema": schema})):
    st, r, dt = chat(extract, max_tokens=200, **extra)
    text = r["choices"][0]["message"]["content"] if st == 200 else r
    try:
        facts = json.loads(text) if isinstance(text, str) else None
        ok = isinstance(facts, list) and all(isinstance(f, dict) and "subject" in f and "fact" in f for f in facts)
    except ValueError:
        ok = False
    check(st == 200 and ok, label, f"HTTP {st} {dt:.1f}s {str(text)[:300]}")

st, r, _ = chat([{"role": "system", "content": persona}, {"role": "user", "content": "bob: hi"},
                 {"role": "system", "content": "Recent channel lines follow."}, {"role": "user", "content": "carol: hi Aria"}], max_tokens=20)
print(f"  template, system/user/system/user: HTTP {st} {'' if st == 200 else json.dumps(r)[:200]}")
st, r, _ = chat([{"role": "system", "content": persona}, {"role": "user", "content": "bob: hi"},
                 {"role": "user", "content": "carol: hi Aria"}], max_tokens=20)
print(f"  template, system/user/user: HTTP {st} {'' if st == 200 else json.dumps(r)[:200]}")

count = [{"role": "user", "content": "Count from 1 to 30, separated by commas, nothing else."}]
for field in ("max_tokens", "max_completion_tokens"):
    st, r, _ = chat(count, **{field: 5})
    if st == 200:
        u = r.get("usage", {})
        check(u.get("completion_tokens", 99) <= 5 and r["choices"][0].get("finish_reason") == "length",
              f"{field}=5 honoured", f"completion_tokens={u.get('completion_tokens')} finish={r['choices'][0].get('finish_reason')} {json.dumps(r['choices'][0]['message']['content'])}")
    else:
        check(False, f"{field}=5", f"HTTP {st} {r}")
st, r, _ = chat(count, max_tokens=120, stop=["7"])
if st == 200:
    c = r["choices"][0]["message"]["content"]
    check("7" not in c and c.strip(), "stop honoured", f"{json.dumps(c)} finish={r['choices'][0].get('finish_reason')}")

filler = " ".join(f"[12:{i % 60:02d}] member{i % 7}: line {i} about the weather, the game tonight and coffee." for i in range(90))
st, r, dt = chat([{"role": "system", "content": persona}, {"role": "user", "content": filler + "\nbob: Aria, what's up?"}], max_tokens=100)
if st == 200:
    print(f"  long prompt: {dt:.1f}s, {speeds(r)}")

print(f"embedding server {EMBED}")
st, em, _ = call(EMBED + "/models", timeout=5) if True else (0, None, 0)
if st != 200:
    print("  no embedding server answers: embeddings unavailable (lexical fallback)")
else:
    texts = ["likes green tea", "enjoys drinking green tea", "the train to Berlin was late"]
    st, r, dt = call(EMBED + "/embeddings", {"input": texts, "model": em["data"][0]["id"]})
    if st == 200:
        vecs = [d["embedding"] for d in r["data"]]

        def cos(a, b):
            return sum(x * y for x, y in zip(a, b)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))
        print(f"  {len(vecs)} vectors of {len(vecs[0])} dims in {dt*1000:.0f} ms; usage {json.dumps(r.get('usage'))}; "
              f"keys {sorted(r.keys())}, item keys {sorted(r['data'][0].keys())}, norm {math.sqrt(sum(x*x for x in vecs[0])):.3f}")
        para, unrel = cos(vecs[0], vecs[1]), cos(vecs[0], vecs[2])
        check(para > unrel + 0.2, "embeddings separate a paraphrase from an unrelated sentence",
              f"cos(paraphrase)={para:.3f} cos(unrelated)={unrel:.3f}")
    else:
        check(False, "embeddings", f"HTTP {st} {str(r)[:300]}")

print(("FAILED: " + ", ".join(failures)) if failures else "all smoke checks passed")
sys.exit(1 if failures else 0)
