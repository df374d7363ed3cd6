#!/usr/bin/env python3
"""Convert a sentence-transformers BERT model directory (all-MiniLM-L6-v2) to GGUF without torch.

llama.cpp's convert_hf_to_gguf.py imports torch (and transformers for the vocab); PyPI's torch
wheel pulls gigabytes of CUDA packages. This script does the same job for a plain BERT encoder
with only numpy and the gguf-py library vendored in the same llama-cpp-python sdist: it reads
the safetensors file directly, maps tensor names with gguf-py's own TensorNameMap, and writes
the same metadata and WordPiece vocab as conversion/bert.py (BertModel) does.

usage: minilm_to_gguf.py MODEL_DIR OUT.gguf
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import gguf

DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def read_safetensors(path: Path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
    data = np.memmap(path, dtype=np.uint8, mode="r")
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        yield name, arr


def main() -> int:
    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    hp = json.loads((model_dir / "config.json").read_text())
    if hp.get("model_type") != "bert":
        print(f"not a BERT model: {hp.get('model_type')}", file=sys.stderr)
        return 1
    arch = gguf.MODEL_ARCH.BERT
    n_layer = hp["num_hidden_layers"]
    w = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])

    w.add_name(model_dir.name)
    w.add_block_count(n_layer)
    w.add_context_length(hp["max_position_embeddings"])
    w.add_embedding_length(hp["hidden_size"])
    w.add_feed_forward_length(hp["intermediate_size"])
    w.add_head_count(hp["num_attention_heads"])
    w.add_layer_norm_eps(hp["layer_norm_eps"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_causal_attention(False)

    # pooling, as sentence-transformers' modules.json says (mean for all-MiniLM-L6-v2)
    pooling = gguf.PoolingType.MEAN
    modules = model_dir / "modules.json"
    if modules.is_file():
        for mod in json.loads(modules.read_text()):
            if mod["type"].endswith("Pooling"):
                cfg = json.loads((model_dir / mod["path"] / "config.json").read_text())
                if cfg.get("pooling_mode_cls_token"):
                    pooling = gguf.PoolingType.CLS
                elif cfg.get("pooling_mode_mean_tokens"):
                    pooling = gguf.PoolingType.MEAN
    w.add_pooling_type(pooling)

    # WordPiece vocab from tokenizer.json, in id order; added (special) tokens are CONTROL,
    # the rest get the "phantom space" form conversion/bert.py writes.
    tok = json.loads((model_dir / "tokenizer.json").read_text())
    vocab = tok["model"]["vocab"]
    special = {t["content"] for t in tok.get("added_tokens", []) if t.get("special")}
    n_vocab = max(hp.get("vocab_size", 0), max(vocab.values()) + 1)
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n_vocab):
        t = by_id.get(i, f"[PAD{i}]")
        if t in special:
            tokens.append(t)
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(t[2:] if t.startswith("##") else "\u2581" + t)
            types.append(gguf.TokenType.NORMAL)
    w.add_token_type_count(hp.get("type_vocab_size", 1))
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(w)

    tmap = gguf.get_tensor_name_map(arch, n_layer)
    skip = {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}
    n = 0
    for name, arr in read_safetensors(model_dir / "model.safetensors"):
        if name.startswith("bert."):
            name = name[5:]
        if name.endswith(".gamma"):
            name = name[:-6] + ".weight"
        if name.endswith(".beta"):
            name = name[:-5] + ".bias"
        if name in skip or name.startswith("cls."):
            continue
        new = tmap.get_name(name, try_suffixes=(".weight", ".bias"))
        if new is None:
            print(f"cannot map tensor {name}", file=sys.stderr)
            return 1
        w.add_tensor(new, np.ascontiguousarray(arr.astype(np.float32)))
        n += 1

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"wrote {out} ({n} tensors, {len(tokens)} tokens, pooling {pooling.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
