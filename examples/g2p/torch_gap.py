"""Why PyTorch learns g2p faster per epoch than rnnc did (examples/g2p/README.md, "PyTorch's defaults"): the same
4,000 words in the same batches and order, batch 32, Adam (lr 0.005), clip 5, two epochs, under each difference
between the two libraries in turn. Reads the batches `node examples/g2p/torch_gap.mjs` writes, prints each variant's
mean training loss per epoch. Run: node examples/g2p/torch_gap.mjs  (it runs this script with $RNNC_PYTHON or python3).

  pytorch            torch.nn defaults: LSTM with two biases per gate, uniform ±1/√H init; Embedding N(0, 1)
  one bias           each LSTM gate's two biases as one (b_hh frozen at 0): rnnc's LSTM's parametrization
  one bias, rnnc's inits   also rnnc's initializers: glorot/orthogonal LSTM weights, forget bias 1, Embedding
                     uniform ±0.05, Dense glorot with zero bias (then PyTorch computes what rnnc's default g2p does)
  … but Embedding N(0, 1) / pytorch but Embedding uniform ±0.05: the embeddings' initializer alone
"""
import json
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from torch_g2p import G2P  # noqa: E402

torch.set_num_threads(1)
spec = json.load(open(sys.argv[1]))
d = spec["dims"]
L, P, E, H = d["L"], d["P"], d["E"], d["H"]
batches = [(torch.tensor(b["letters"]), torch.tensor(b["letter_lengths"]), torch.tensor(b["prev_phones"]), torch.tensor(b["targets"])) for b in spec["batches"]]
orders = spec["orders"]


def one_bias(m):
    for rnn in (m.encoder, m.dec_rnn):
        with torch.no_grad():
            rnn.bias_ih_l0 += rnn.bias_hh_l0
            rnn.bias_hh_l0.zero_()
        rnn.bias_hh_l0.requires_grad_(False)


def rnnc_embedding(m):
    with torch.no_grad():
        for emb in (m.letter, m.dec_embed):
            emb.weight.uniform_(-0.05, 0.05)


def rnnc_inits(m, embedding=True):
    if embedding:
        rnnc_embedding(m)
    with torch.no_grad():
        for rnn in (m.encoder, m.dec_rnn):
            for k in range(4):  # gates i, f, g, o: each [H, in] glorot, each [H, H] orthogonal
                w = rnn.weight_ih_l0[k * H:(k + 1) * H]
                lim = math.sqrt(6 / (w.shape[0] + w.shape[1]))
                w.uniform_(-lim, lim)
                torch.nn.init.orthogonal_(rnn.weight_hh_l0[k * H:(k + 1) * H])
            rnn.bias_ih_l0.zero_()
            rnn.bias_ih_l0[H:2 * H] = 1.0  # forget bias
            rnn.bias_hh_l0.zero_()
        torch.nn.init.xavier_uniform_(m.head.weight)
        m.head.bias.zero_()


def train(setup):
    torch.manual_seed(0)
    m = G2P(L, P, E, H)
    setup(m)
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=spec["lr"])
    means = []
    for order in orders:
        total = 0.0
        for k in order:
            letters, lengths, prev, targets = batches[k]
            logits = m(letters, lengths, prev)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, P), targets.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, spec["clip"])
            opt.step()
            total += loss.item()
        means.append(total / len(order))
    return means


variants = {
    "pytorch": lambda m: None,
    "one bias": one_bias,
    "one bias, rnnc's inits": lambda m: (rnnc_inits(m), one_bias(m)),
    "one bias, rnnc's inits but Embedding N(0, 1)": lambda m: (rnnc_inits(m, embedding=False), one_bias(m)),
    "pytorch but Embedding uniform ±0.05": rnnc_embedding,
}
print(json.dumps({name: train(setup) for name, setup in variants.items()}))
