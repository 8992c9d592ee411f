"""The parts of rnnc's PyTorch trainer (trainer.py): the batches file, dropout masks and optimizers, each as rnnc defines it.

The masks are src/runtime/dropout.ts's draws, the optimizers src/fused/optimizers.ts's updates and checkpoint slots,
so the two engines train alike and either resumes the other's checkpoint.
"""
import json
import struct

import numpy as np
import torch

M32 = 0xFFFFFFFF


class TrainerError(Exception):
    """A problem to report to the user as it is (no traceback)."""


# ---- the data file -------------------------------------------------------------------------------------------------


class Data:
    """The batches file: each split's inputs and targets as numpy arrays, ragged rows found by their offsets."""

    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:8] != b"RNNCDATA":
            raise TrainerError("%s is not an rnnc batches file" % path)
        (size,) = struct.unpack_from("<I", raw, 8)
        self.header = json.loads(raw[12 : 12 + size].decode("utf-8"))
        start = (12 + size + 7) // 8 * 8
        self.arrays = {}
        for b in self.header["blocks"]:
            dtype = np.int32 if b["dtype"] == "i32" else np.float32
            self.arrays[b["name"]] = np.frombuffer(raw, dtype=dtype, count=b["count"], offset=start + b["offset"])
        self.inputs = self.header["inputs"]
        self.target = self.header["target"]
        self.offsets = {}
        for split in self.header["sizes"]:
            for name in [i["name"] for i in self.inputs if i["seq"]] + ["target"]:
                lengths = self.arrays["%s/%s/lengths" % (split, name)].astype(np.int64)
                self.offsets[(split, name)] = np.concatenate([[0], np.cumsum(lengths)])

    def size(self, split):
        return self.header["sizes"][split]

    def lengths(self, split, name, idx):
        return self.arrays["%s/%s/lengths" % (split, name)][idx].astype(np.int64)

    def input(self, split, inp, idx, steps):
        """Rows idx of an input, batch-first, a sequence padded with zeros to `steps`."""
        step = int(np.prod(inp["shape"])) if inp["shape"] else 1
        data = self.arrays["%s/%s" % (split, inp["name"])]
        dtype = np.int64 if inp["dtype"] == "i32" else np.float32
        if not inp["seq"]:
            return torch.from_numpy(data.reshape(-1, step)[idx].astype(dtype).reshape([len(idx)] + inp["shape"]))
        off = self.offsets[(split, inp["name"])]
        out = np.zeros([len(idx), steps, step], dtype=dtype)
        for r, i in enumerate(idx):
            n = int(off[i + 1] - off[i])
            out[r, :n] = data[off[i] * step : off[i + 1] * step].reshape(n, step)
        return torch.from_numpy(out.reshape([len(idx), steps] + inp["shape"]))

    def targets(self, split, idx, steps, width):
        """Rows idx of the targets as [rows, steps(, width)]: ids (zero past a row's end) or values; and each row's own length."""
        off = self.offsets[(split, "target")]
        data = self.arrays["%s/target" % split]
        ids = self.target["kind"] == "ids"
        out = np.zeros([len(idx), steps] + ([] if ids else [width]), dtype=np.int64 if ids else np.float32)
        own = np.zeros([len(idx)], dtype=np.int64)
        for r, i in enumerate(idx):
            n = int(off[i + 1] - off[i])
            own[r] = n
            k = min(n, steps)
            row = data[off[i] * (1 if ids else width) : off[i + 1] * (1 if ids else width)]
            out[r, :k] = row[:k] if ids else row.reshape(n, width)[:k]
        return torch.from_numpy(out), torch.from_numpy(own)


# ---- dropout masks, as src/runtime/dropout.ts draws them ------------------------------------------------------------


def _h32(x):
    x = x & M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def mask(spec, k, seed, step, rows, steps):
    """Mask k of a whole batch of `rows`, [rows(, steps), …]: 0 with its rate, else 1 / (1 - rate); ones for evaluation."""
    shape = spec["shape"]
    size = int(np.prod(shape)) if shape else 1
    T = steps if spec.get("stepsOf") is not None else 1
    if seed is None:
        data = np.ones([rows, T, size], dtype=np.float32)
    else:
        key = _h32(np.uint64(_h32(np.uint64(_h32(np.uint64(seed & M32))) ^ np.uint64(step & M32))) + np.uint64(((k + 1) * 0x9E3779B1) & M32))
        # a mask per sequence is drawn once per row and repeated over the steps (a view: no copies)
        drawn = T if spec["perStep"] else 1
        b = np.arange(rows, dtype=np.uint64).reshape(rows, 1, 1)
        t = np.arange(drawn, dtype=np.uint64).reshape(1, drawn, 1)
        i = np.arange(size, dtype=np.uint64).reshape(1, 1, size)
        at = (b * np.uint64(T) + t) * np.uint64(size) + i if spec["perStep"] else b * np.uint64(size) + i
        u = _h32(np.uint64(key) ^ _h32(at + np.uint64(0x632BE5AB))).astype(np.float64) / 4294967296.0
        data = np.where(u < spec["rate"], 0.0, 1.0 / (1.0 - spec["rate"])).astype(np.float32)
    full = [rows, T] + shape if spec.get("stepsOf") is not None else [rows] + shape
    return torch.from_numpy(data).expand([rows, T, size]).reshape(full)


# ---- optimizers, as src/fused/optimizers.ts defines them ------------------------------------------------------------

SLOTS = {"sgd": [], "momentum": ["momentum"], "adam": ["m", "v"], "rmsprop": ["rms", "momentum"]}
ADAM = (0.9, 0.999, 1e-8)


def f32(x):
    return float(np.float32(x))


class Optimizer:
    def __init__(self, name, lr, params):
        self.name, self.lr, self.params = name, lr, params
        self.slots = [[torch.zeros_like(p) for p in params] for _ in SLOTS[name]]
        self.iterations = 0
        self.power1, self.power2 = f32(ADAM[0]), f32(ADAM[1])

    @torch.no_grad()
    def step(self, scale):
        """One update from the params' gradients times `scale`; Adam (the usual one) on torch's multi-tensor kernels."""
        lr = self.lr
        if self.name == "adam":
            live = [j for j, p in enumerate(self.params) if p.grad is not None]
            ps, ms, vs = [self.params[j] for j in live], [self.slots[0][j] for j in live], [self.slots[1][j] for j in live]
            gs = [p.grad for p in ps] if scale == 1 else torch._foreach_mul([p.grad for p in ps], scale)
            b1, b2, eps = ADAM
            c1, c2 = f32(1 - self.power1), f32(1 - self.power2)
            torch._foreach_mul_(ms, b1)
            torch._foreach_add_(ms, gs, alpha=1 - b1)
            torch._foreach_mul_(vs, b2)
            torch._foreach_addcmul_(vs, gs, gs, value=1 - b2)
            denom = torch._foreach_sqrt(torch._foreach_mul(vs, 1 / c2))
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(ps, ms, denom, value=-(lr / c1))
            self.power1, self.power2 = f32(self.power1 * ADAM[0]), f32(self.power2 * ADAM[1])
            self.iterations += 1
            return
        for j, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad * scale
            if self.name == "sgd":
                p.sub_(lr * g)
            elif self.name == "momentum":
                a = self.slots[0][j]
                a.mul_(0.9).add_(g)
                p.sub_(lr * a)
            else:
                ms, mom = self.slots[0][j], self.slots[1][j]
                ms.mul_(0.9).add_(0.1 * g * g)
                mom.copy_(g * lr / torch.sqrt(ms + 1e-7))
                p.sub_(mom)
        self.iterations += 1


def views(model, module, tensors, params):
    """rnnc's param views (`layer.param`) of per-parameter tensors: each parameter's data swapped for its tensor in turn."""
    saved = [p.data for p in params]
    try:
        for p, t in zip(params, tensors):
            p.data = t
        return {name: v.detach().clone() for name, v in module.rnnc_params(model).items()}
    finally:
        for p, d in zip(params, saved):
            p.data = d


def write_views(model, module, tensors, params, given):
    saved = [p.data for p in params]
    try:
        for p, t in zip(params, tensors):
            p.data = t
        with torch.no_grad():
            for name, v in module.rnnc_params(model).items():
                v.copy_(given[name].reshape(v.shape))
    finally:
        for p, d in zip(params, saved):
            p.data = d


def optimizer_state(opt, model, module, params):
    weights = [{"name": "iter", "shape": [], "data": [opt.iterations]}]
    for k, slot in enumerate(SLOTS[opt.name]):
        for name, t in views(model, module, opt.slots[k], params).items():
            weights.append({"name": name + "/" + slot, "shape": list(t.shape), "tensor": t})
    if opt.name == "adam":
        weights += [{"name": "adam.power/accBeta1", "shape": [], "data": [opt.power1]}, {"name": "adam.power/accBeta2", "shape": [], "data": [opt.power2]}]
    return {"name": opt.name, "weights": weights}


def restore_optimizer(opt, model, module, params, state):
    """As FlatOptimizer.restore: False (nothing changed) when the state is another optimizer's or names other params."""
    if state["name"] != opt.name:
        return False
    names = {n: v.numel() for n, v in module.rnnc_params(model).items()}
    slots = {s: k for k, s in enumerate(SLOTS[opt.name])}
    found, iterations, powers = [], 0, {}
    for w in state["weights"]:
        if w["name"] == "iter":
            iterations = int(w["data"][0])
            continue
        if w["name"].startswith("adam.power/"):
            powers[w["name"][len("adam.power/") :]] = w["data"][0]
            continue
        param, _, slot = w["name"].rpartition("/")
        if slot not in slots or names.get(param) != len(w["data"]):
            return False
        found.append((slots[slot], param, w["data"]))
    fresh = [[torch.zeros_like(p) for p in params] for _ in SLOTS[opt.name]]
    for k in range(len(fresh)):
        given = {param: torch.tensor(data, dtype=torch.float32) for kk, param, data in found if kk == k}
        current = views(model, module, fresh[k], params)
        write_views(model, module, fresh[k], params, {**current, **given})
    opt.slots = fresh
    opt.iterations = iterations
    opt.power1 = f32(powers.get("accBeta1", ADAM[0] ** (iterations + 1)))
    opt.power2 = f32(powers.get("accBeta2", ADAM[1] ** (iterations + 1)))
    return True
