#!/usr/bin/env python3
"""Proof that an export is in the layout transformers expects, without transformers (numpy only).

    python3 tools/bert_numpy_check.py EXPORT_DIR CASE_DIR

EXPORT_DIR is a folder written by the app's exporter (embed_input/, embed_doc/, reader/, each with
model.safetensors + config.json + vocab.txt, and index/block_emb.npy). CASE_DIR holds inputs.json
(token ids) and expected.json (what the app computed for them). This script reads the safetensors
files itself, runs BERT's forward pass written from the definitions (BertModel's post-LN block, or
MegatronBertModel's pre-LN one, as config.json's model_type says; hidden_act "gelu" is the exact
x*Phi(x), "gelu_new" the tanh form), in float64, and compares with the app:
  - the last hidden state at [CLS] of every encoder,
  - Embed_input(x) and Embed_doc(z): LayerNorm(cls.dense([CLS])) (RealmScorerProjection),
  - the retrieval scores Embed_input(x) . Embed_doc(z), against the app's and against block_emb.npy,
  - the reader's MLM logits at the masked positions (cls.predictions, decoder tied to the embeddings).
Exits 1 when any differs by more than --tol (default 1e-4), printing the worst difference of each.
"""
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, this check reads F32 only")
        begin, end = entry["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"]).astype(np.float64)
    return out


def read_npy(path):
    raw = Path(path).read_bytes()
    if raw[:6] != b"\x93NUMPY":
        raise SystemExit(f"{path}: not a .npy file")
    (n,) = struct.unpack("<H", raw[8:10])
    header = raw[10 : 10 + n].decode("latin1")
    # the dict literal the writer spells: descr, fortran_order, shape
    assert "'descr': '<f4'" in header and "'fortran_order': False" in header, header
    shape = tuple(int(d) for d in header.split("'shape': (")[1].split(")")[0].split(",") if d.strip())
    assert (10 + n) % 64 == 0, "npy data is not 64-byte aligned"
    return np.frombuffer(raw[10 + n :], dtype="<f4").reshape(shape).astype(np.float64)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf)


def activation(name):
    if name == "gelu":  # exact: x * Phi(x)
        return lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    raise SystemExit(f"hidden_act {name!r} is not a GELU this check knows")


def linear(x, w, name):
    # PyTorch Linear: y = x W^T + b, W [out, in]
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def encoder(w, cfg, ids, types):
    """BertModel (post-LN) or MegatronBertModel (pre-LN) last hidden states, [N, L, H]."""
    post = cfg["model_type"] == "bert"
    if cfg["model_type"] not in ("bert", "megatron-bert"):
        raise SystemExit(f"model_type {cfg['model_type']!r} is not bert or megatron-bert")
    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    act = activation(cfg["hidden_act"])
    n, length = ids.shape
    h = w["embeddings.word_embeddings.weight"][ids]
    h = h + w["embeddings.position_embeddings.weight"][np.arange(length)][None]
    h = h + w["embeddings.token_type_embeddings.weight"][types]
    if post:
        h = layer_norm(h, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hidden = h.shape[-1]
    dh = hidden // heads
    # padding keys (id 0) get no attention
    bias = np.where(ids == cfg.get("pad_token_id", 0), -np.inf, 0.0)[:, None, None, :]

    def ln(x, name):
        return layer_norm(x, w[f"{name}.weight"], w[f"{name}.bias"], eps)

    def split(t):
        return t.reshape(n, length, heads, dh).transpose(0, 2, 1, 3)

    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        a = h if post else ln(h, f"{p}.attention.ln")
        q, k, v = (split(linear(a, w, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + bias
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(n, length, hidden)
        h = h + linear(context, w, f"{p}.attention.output.dense")
        if post:
            h = ln(h, f"{p}.attention.output.LayerNorm")
        f = h if post else ln(h, f"{p}.ln")
        h = h + linear(act(linear(f, w, f"{p}.intermediate.dense")), w, f"{p}.output.dense")
        if post:
            h = ln(h, f"{p}.output.LayerNorm")
    return h if post else ln(h, "encoder.ln")


def load(folder):
    folder = Path(folder)
    cfg = json.loads((folder / "config.json").read_text())
    w = read_safetensors(folder / "model.safetensors")
    vocab = (folder / "vocab.txt").read_text().split("\n")[:-1]
    if len(vocab) != cfg["vocab_size"] or w["embeddings.word_embeddings.weight"].shape[0] != len(vocab):
        raise SystemExit(f"{folder}: vocab.txt has {len(vocab)} pieces, config.json {cfg['vocab_size']}")
    return w, cfg


def embed(w, cfg, ids, types):
    """(last hidden state at [CLS] [N, H], LayerNorm(cls.dense(it)) [N, d])."""
    cls = encoder(w, cfg, ids, types)[:, 0]
    return cls, layer_norm(linear(cls, w, "cls.dense"), w["cls.LayerNorm.weight"], w["cls.LayerNorm.bias"], cfg["layer_norm_eps"])


def main(argv):
    tol = 1e-4
    if "--tol" in argv:
        tol = float(argv[argv.index("--tol") + 1])
    export, case = Path(argv[1]), Path(argv[2])
    inputs = json.loads((case / "inputs.json").read_text())
    expected = json.loads((case / "expected.json").read_text())
    arr = lambda key: np.array(inputs[key], dtype=np.int64)
    results = {}

    w_in, c_in = load(export / "embed_input")
    w_doc, c_doc = load(export / "embed_doc")
    w_rd, c_rd = load(export / "reader")
    q_cls, q_emb = embed(w_in, c_in, arr("query_ids"), arr("query_types"))
    d_cls, d_emb = embed(w_doc, c_doc, arr("doc_ids"), arr("doc_types"))
    block_emb = read_npy(export / "index" / "block_emb.npy")
    reader_h = encoder(w_rd, c_rd, arr("reader_ids"), arr("reader_types"))
    rows = np.arange(reader_h.shape[0])[:, None]
    hm = reader_h[rows, arr("reader_positions")]  # [N, M, H]
    eps = c_rd["layer_norm_eps"]
    t = linear(hm, w_rd, "cls.predictions.transform.dense")
    t = layer_norm(activation(c_rd["hidden_act"])(t), w_rd["cls.predictions.transform.LayerNorm.weight"], w_rd["cls.predictions.transform.LayerNorm.bias"], eps)
    logits = t @ w_rd["embeddings.word_embeddings.weight"].T + w_rd["cls.predictions.bias"]

    results["embed_input [CLS] hidden state"] = (q_cls, expected["query_cls"])
    results["embed_doc [CLS] hidden state"] = (d_cls, expected["doc_cls"])
    results["reader [CLS] hidden state"] = (reader_h[:, 0], expected["reader_cls"])
    results["Embed_input(x)"] = (q_emb, expected["query_emb"])
    results["Embed_doc(z)"] = (d_emb, expected["doc_emb"])
    results["retrieval scores vs the app"] = (q_emb @ d_emb.T, expected["scores"])
    results["retrieval scores over block_emb.npy"] = (q_emb @ block_emb.T, expected["scores"])
    results["block_emb.npy vs numpy's Embed_doc(z)"] = (block_emb, d_emb)
    results["reader MLM logits"] = (logits, expected["mlm_logits"])

    failed = False
    for what, (mine, app) in results.items():
        app = np.asarray(app, dtype=np.float64)
        if mine.shape != app.shape:
            print(f"FAIL {what}: shape {mine.shape} vs the app's {app.shape}")
            failed = True
            continue
        worst = float(np.max(np.abs(mine - app))) if mine.size else 0.0
        ok = worst <= tol
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}: max |numpy - app| = {worst:.2e} (tol {tol:g})")
    kind = f"{c_in['model_type']} ({c_in['architectures'][0]}), hidden_act {c_in['hidden_act']}"
    print(f"{'FAILED' if failed else 'agrees'}: {kind}")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv))
