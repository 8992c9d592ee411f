"""The PyTorch column of `npm run bench` (run by it when `import torch` works): the same work as rnnc's rows, timed here
on one thread (and two for the training step), printed as one JSON object on stdout.

  python3 torch_peer.py G2P_BATCHES.json [LSTM.py GRU.py]
    (the g2p batches the bench wrote: the same words rnnc trains on; the bench's LSTM and GRU models as rnnc compiled them
    with --target pytorch, timed against the same work written by hand)

Rows: an LSTM and a GRU training step (batch 32, 100 steps, input 64, hidden 128: forward, MSE on every output,
backward, SGD), the LSTM forward pass, a streaming LSTMCell step at batch 1 (input 32, hidden 64), and g2p training
(examples/g2p/g2p.rnn's model: embeddings, LSTM encoder, decoder from its final states; Adam, clip 5) in words per second,
and the same for g2p-attention.rnn's model.
"""
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "examples" / "g2p"))
from torch_g2p import G2P, G2PAttention  # noqa: E402


def median_ms(f, reps, warmup=5):
    for _ in range(warmup):
        f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append((time.perf_counter() - t0) * 1000)
    return sorted(times)[len(times) // 2]


def training_step(kind, threads, reps=9):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    B, T, I, H = 32, 100, 64, 128
    rnn = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(I, H, batch_first=True)
    x = torch.randn(B, T, I)
    target = torch.randn(B, T, H)
    opt = torch.optim.SGD(rnn.parameters(), lr=0.01)

    def step():
        out, _ = rnn(x)
        loss = torch.nn.functional.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return median_ms(step, reps)


def forward(kind, reps=15):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rnn = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(64, 128, batch_first=True)
    x = torch.randn(32, 100, 64)
    with torch.no_grad():
        return median_ms(lambda: rnn(x), reps)


def streaming_step(steps=1000):
    torch.set_num_threads(1)
    cell = torch.nn.LSTMCell(32, 64)
    xs = torch.randn(steps, 1, 32)
    with torch.no_grad():
        def run():
            h = torch.zeros(1, 64)
            c = torch.zeros(1, 64)
            for k in range(steps):
                h, c = cell(xs[k], (h, c))
        return median_ms(run, 5, 2) * 1000 / steps  # µs per step


def g2p(path, attention=False):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec = json.load(open(path))
    d = spec["dims"]
    model = G2PAttention(d["L"], d["P"], d["E"], d["H"], d["A"]) if attention else G2P(d["L"], d["P"], d["E"], d["H"])
    opt = torch.optim.Adam(model.parameters(), lr=spec["lr"])
    batches = [(torch.tensor(b["letters"]), torch.tensor(b["letter_lengths"]), torch.tensor(b["prev_phones"]), torch.tensor(b["targets"])) for b in spec["batches"]]
    words = sum(len(b["letter_lengths"]) for b in spec["batches"])

    def epoch():
        for letters, lengths, prev, targets in batches:
            logits = model(letters, lengths, prev)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec["clip"])
            opt.step()
    ms = median_ms(epoch, 3, 1)
    return words / (ms / 1000)


def compiled_against_hand(kind, path, reps=15):
    """The module rnnc compiled (--target pytorch) and a hand-written nn.LSTM / nn.GRU, forward and training step,
    interleaved (each call of one followed by one of the other), median ms of each, one thread."""
    import importlib.util

    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec = importlib.util.spec_from_file_location("compiled_" + kind, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    compiled = mod.Model()
    hand = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(64, 128, batch_first=True)
    x = torch.randn(32, 100, 64)
    target = torch.randn(32, 100, 128)
    opt_c = torch.optim.SGD(compiled.parameters(), lr=0.01)
    opt_h = torch.optim.SGD(hand.parameters(), lr=0.01)

    def step_c():
        loss = torch.nn.functional.mse_loss(compiled(x)["seq"], target)
        opt_c.zero_grad()
        loss.backward()
        opt_c.step()

    def step_h():
        loss = torch.nn.functional.mse_loss(hand(x)[0], target)
        opt_h.zero_grad()
        loss.backward()
        opt_h.step()

    def forward_c():
        with torch.no_grad():
            compiled(x)

    def forward_h():
        with torch.no_grad():
            hand(x)

    result = {}
    for name, (c, h) in {"forward": (forward_c, forward_h), "step": (step_c, step_h)}.items():
        tc, th = [], []
        for r in range(reps + 3):
            for f, times in ((c, tc), (h, th)):
                f()
                t0 = time.perf_counter()
                f()
                if r >= 3:
                    times.append((time.perf_counter() - t0) * 1000)
        result[name] = {"compiled": sorted(tc)[len(tc) // 2], "hand": sorted(th)[len(th) // 2]}
    return result


out = {
    "torch": torch.__version__,
    "trainingStepMs": {"LSTM": {"1": training_step("LSTM", 1), "2": training_step("LSTM", 2)}, "GRU": {"1": training_step("GRU", 1), "2": training_step("GRU", 2)}},
    "forwardMs": {"LSTM": forward("LSTM"), "GRU": forward("GRU")},
    "streamingStepUs": streaming_step(),
}
if len(sys.argv) > 3:
    out["compiled"] = {"LSTM": compiled_against_hand("LSTM", sys.argv[2]), "GRU": compiled_against_hand("GRU", sys.argv[3])}
if len(sys.argv) > 1:
    out["g2pWordsPerSecond"] = g2p(sys.argv[1])
    out["g2pAttentionWordsPerSecond"] = g2p(sys.argv[1], attention=True)
print(json.dumps(out))
