#!/usr/bin/env python3
"""Continue REALM pre-training from an app export on PyTorch (docs/scale-out.md).

    torchrun --nproc_per_node N tools/continue_torch.py --export DIR [--steps 1]

Not run on the app's machines (transformers and torch are not installable there); the layout it
reads is checked by tools/bert_numpy_check.py instead. It loads the three folders of an export
(embed_input/, embed_doc/, reader/) into plain transformers models with strict name checks, searches
index/block_emb.npy for each query, and takes REALM training steps on the marginal likelihood
    p(y | x) = sum_z p(y | z, x) p(z | x),   p(z | x) = softmax_z(Embed_input(x) . Embed_doc(z)).
The data here are the exported blocks themselves, masked BERT-style: a stand-in for a real pipeline.
"""
import argparse
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModel, BertTokenizer


class Embedder(torch.nn.Module):
    """BERT (or Megatron-BERT for pre-LN exports) + cls.dense + cls.LayerNorm: RealmScorerProjection."""

    def __init__(self, folder):
        super().__init__()
        config = AutoConfig.from_pretrained(folder)
        self.bert = AutoModel.from_config(config, add_pooling_layer=False)
        self.dense = torch.nn.Linear(config.hidden_size, config.retriever_proj_size)
        self.norm = torch.nn.LayerNorm(config.retriever_proj_size, eps=config.layer_norm_eps)
        state = load_file(f"{folder}/model.safetensors")
        self.bert.load_state_dict({k: v for k, v in state.items() if not k.startswith("cls.")}, strict=True)
        self.dense.load_state_dict({"weight": state["cls.dense.weight"], "bias": state["cls.dense.bias"]})
        self.norm.load_state_dict({"weight": state["cls.LayerNorm.weight"], "bias": state["cls.LayerNorm.bias"]})

    def forward(self, **enc):
        return self.norm(self.dense(self.bert(**enc).last_hidden_state[:, 0]))


class Reader(torch.nn.Module):
    """BERT + the MLM head (cls.predictions.*), decoder tied to the word embeddings."""

    def __init__(self, folder):
        super().__init__()
        config = AutoConfig.from_pretrained(folder)
        self.bert = AutoModel.from_config(config, add_pooling_layer=False)
        h = config.hidden_size
        self.transform = torch.nn.Linear(h, h)
        self.norm = torch.nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.bias = torch.nn.Parameter(torch.zeros(config.vocab_size))
        self.act = torch.nn.GELU(approximate="none" if config.hidden_act == "gelu" else "tanh")
        state = load_file(f"{folder}/model.safetensors")
        self.bert.load_state_dict({k: v for k, v in state.items() if not k.startswith("cls.")}, strict=True)
        self.transform.load_state_dict(
            {"weight": state["cls.predictions.transform.dense.weight"], "bias": state["cls.predictions.transform.dense.bias"]}
        )
        self.norm.load_state_dict(
            {"weight": state["cls.predictions.transform.LayerNorm.weight"], "bias": state["cls.predictions.transform.LayerNorm.bias"]}
        )
        with torch.no_grad():
            self.bias.copy_(state["cls.predictions.bias"])

    def forward(self, positions, **enc):
        h = self.bert(**enc).last_hidden_state  # [B*K, L, H]
        hm = h.gather(1, positions[..., None].expand(-1, -1, h.shape[-1]))  # [B*K, M, H]
        t = self.norm(self.act(self.transform(hm)))
        return t @ self.bert.embeddings.word_embeddings.weight.T + self.bias  # [B*K, M, V]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--export", required=True)
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-5)
    args = ap.parse_args()
    distributed = "RANK" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank = dist.get_rank() if distributed else 0
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    root = Path(args.export)

    tok = BertTokenizer.from_pretrained(root / "reader")
    query_encoder = Embedder(root / "embed_input").to(device)
    doc_encoder = Embedder(root / "embed_doc").to(device)
    reader = Reader(root / "reader").to(device)
    block_emb = torch.from_numpy(np.load(root / "index" / "block_emb.npy")).to(device)  # [N, d]
    blocks = [json.loads(line) for line in (root / "index" / "blocks.jsonl").read_text().splitlines()]
    modules = [query_encoder, doc_encoder, reader]
    if distributed:
        modules = [torch.nn.parallel.DistributedDataParallel(m, device_ids=[device] if device.type == "cuda" else None) for m in modules]
    q_enc, d_enc, rd = modules
    params = [p for m in modules for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    mask_id = tok.mask_token_id

    rng = np.random.default_rng(rank)
    for step in range(args.steps):
        rows = rng.choice(len(blocks), size=args.batch, replace=False)
        query_ids = [torch.tensor(blocks[r]["tokens"][: 32]) for r in rows]  # [CLS] title [SEP] ... as the query
        labels, positions = [], []
        for q in query_ids:
            j = int(rng.integers(1, len(q) - 1))
            labels.append(int(q[j]))
            positions.append(j)
            q[j] = mask_id
        q_batch = torch.nn.utils.rnn.pad_sequence(query_ids, batch_first=True).to(device)
        q_emb = q_enc(input_ids=q_batch, attention_mask=(q_batch != 0).long())  # [B, d]
        # retrieval over the exported index; the trivial block (the query's own) is excluded
        scores_all = q_emb.detach() @ block_emb.T
        scores_all[torch.arange(len(rows)), torch.as_tensor(rows, device=device)] = -torch.inf
        top = scores_all.topk(args.k, dim=1).indices  # [B, K]
        docs = [[torch.tensor(blocks[int(z)]["tokens"]) for z in row] for row in top.tolist()]
        flat_docs = torch.nn.utils.rnn.pad_sequence([d for ds in docs for d in ds], batch_first=True).to(device)
        d_emb = d_enc(input_ids=flat_docs, attention_mask=(flat_docs != 0).long()).view(len(rows), args.k, -1)
        log_p_z = torch.log_softmax(torch.einsum("bd,bkd->bk", q_emb, d_emb), dim=1)  # [B, K]
        # reader input: [CLS] x [SEP] z_title [SEP] z_body [SEP] (the document's own [CLS] dropped)
        pairs, pos = [], []
        for b, q in enumerate(query_ids):
            qq = q[q != 0]
            for d in docs[b]:
                pairs.append(torch.cat([qq, d[1:]])[:256])
                pos.append(positions[b])
        pair_batch = torch.nn.utils.rnn.pad_sequence(pairs, batch_first=True).to(device)
        types = torch.zeros_like(pair_batch)
        for i, p in enumerate(pairs):
            types[i, len(query_ids[i // args.k][query_ids[i // args.k] != 0]) :] = 1
        logits = rd(torch.tensor(pos, device=device)[:, None], input_ids=pair_batch, attention_mask=(pair_batch != 0).long(), token_type_ids=types)
        log_p_y = torch.log_softmax(logits[:, 0], dim=-1).view(len(rows), args.k, -1)
        y = torch.tensor(labels, device=device)[:, None, None].expand(-1, args.k, 1)
        log_p_y = log_p_y.gather(2, y).squeeze(2)  # [B, K]
        loss = -torch.logsumexp(log_p_z + log_p_y, dim=1).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if rank == 0:
            print(f"step {step + 1}: REALM loss {loss.item():.4f}")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
