"""rnnc's PyTorch trainer: `rnnc train --engine torch` runs it (under torchrun when it has several processes).

It trains the module rnnc compiled (`--target pytorch`, the trained output only) on the batches rnnc wrote once
(src/torch/data-file.ts), epoch by epoch as rnnc asks over a local socket: rnnc keeps the schedule, early stopping,
metrics and checkpoints (src/api/fit.ts); this file computes. Losses are src/tfjs/train.ts's.

Each update's batch is split between the processes in contiguous rows, every loss is normalised by the whole batch's
count (reduced over the processes) and DistributedDataParallel averages the gradients: N processes compute what one
does on the whole batch, whatever N.
"""
import contextlib
import importlib.util
import json
import math
import os
import socket
import struct
import sys
import traceback

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from trainer_lib import Data, Optimizer, TrainerError, mask, optimizer_state, restore_optimizer  # noqa: E402


class Control:
    """Rank 0's line of JSON messages to and from rnnc."""

    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.reader = self.sock.makefile("rb")
        self.send({"hello": token})

    def send(self, message):
        self.sock.sendall((json.dumps(message) + "\n").encode("utf-8"))

    def receive(self):
        line = self.reader.readline()
        if not line:
            return {"cmd": "stop"}
        return json.loads(line.decode("utf-8"))


class Trainer:
    def __init__(self, cfg, world, rank, device):
        self.cfg, self.world, self.rank, self.device = cfg, world, rank, device
        spec = importlib.util.spec_from_file_location("rnnc_compiled", cfg["module"])
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.model = self.module.Model().to(device)
        # Dropout is in the masks the model takes (rnnc's training form): the module itself runs as in inference.
        self.model.eval()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.net = self.model
        if world > 1:
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, find_unused_parameters=cfg["findUnused"])
        self.data = Data(cfg["data"])
        self.opt = Optimizer(cfg["optimizer"], cfg["lr"], self.params)
        self.masks = {m["input"]: (k, m) for k, m in enumerate(cfg["masks"])}
        self.inputs = {i["name"]: i for i in self.data.inputs}
        self.drawn = 0  # batches trained on in this run: the draw of the next one's masks (as DropoutEngine counts)

    def reduce(self, values):
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def rows(self, n):
        """This process's rows of a batch of n: a contiguous share (none when n is smaller than the processes)."""
        per, extra = divmod(n, self.world)
        start = self.rank * per + min(self.rank, extra)
        return start, start + per + (1 if self.rank < extra else 0)

    def forward(self, split, idx, lo, hi, draw):
        """The trained output on rows lo:hi of the batch idx: [rows, T, …] and each row's length."""
        seq = [n for n, (_, s) in self.model.INPUT_KINDS.items() if s]
        steps = {i["name"]: int(self.data.lengths(split, i["name"], idx).max()) for i in self.data.inputs if i["seq"]}
        mine = idx[lo:hi]
        args, lengths = [], {}
        for name in self.model.INPUTS:
            if name in self.masks:
                k, m = self.masks[name]
                of = m.get("stepsOf")
                args.append(mask(m, k, self.cfg["seed"] if draw is not None else None, draw or 0, len(idx), steps[of] if of else 1)[lo:hi])
                if of:
                    lengths[name] = self.data.lengths(split, of, mine)
            else:
                args.append(self.data.input(split, self.inputs[name], mine, steps.get(name, 0)))
                if name in steps:
                    lengths[name] = self.data.lengths(split, name, mine)
        args = [a.to(self.device) for a in args] + [torch.from_numpy(lengths[n]).to(self.device) for n in seq]
        out = self.net(*args)
        y = out[self.cfg["output"]]
        ylen = out.get(self.cfg["output"] + "_lengths")
        if ylen is None:
            y, ylen = y.unsqueeze(1), torch.ones([y.shape[0]], dtype=torch.int64, device=y.device)
        return y, ylen

    def loss_terms(self, split, idx, lo, hi, y, ylen):
        """This process's sums for the batch: the loss's numerator and the count it is divided by, the metric's numerator and denominator."""
        cfg, T = self.cfg, y.shape[1]
        on = (torch.arange(T, device=y.device)[None, :] < ylen[:, None]).to(y.dtype)
        kind = cfg["loss"]
        if kind == "crossentropy":
            target, _ = self.data.targets(split, idx[lo:hi], T, 0)
            target = target.to(y.device)
            logp = torch.log(y + 1e-7) if cfg["probabilities"] else F.log_softmax(y, -1)
            picked = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            correct = (y.argmax(-1) == target).to(y.dtype)
            return -(picked * on).sum(), on.sum(), (correct * on).sum().detach(), on.sum()
        if kind == "mse":
            width = int(np.prod(y.shape[2:])) if y.dim() > 2 else 1
            target, _ = self.data.targets(split, idx[lo:hi], T, width)
            diff = y.reshape(y.shape[0], T, width) - target.to(y.device)
            total = ((diff * diff).sum(-1) * on).sum()
            return total, on.sum() * width, None, None
        return self.ctc_terms(split, idx[lo:hi], y, ylen)

    def ctc_terms(self, split, mine, y, ylen):
        cfg = self.cfg
        logp = torch.log(y + 1e-7) if cfg["probabilities"] else F.log_softmax(y, -1)
        labels, own = self.data.targets(split, mine, max(1, int(self.data.lengths(split, "target", mine).max())), 0)
        labels, own = labels.to(y.device), own.to(y.device)
        per = F.ctc_loss(logp.transpose(0, 1).double(), labels, ylen, own, blank=cfg["blank"], reduction="none", zero_infinity=False)
        if not bool(torch.isfinite(per).all()):
            b = int((~torch.isfinite(per)).nonzero()[0])
            raise TrainerError("a CTC target of %d labels cannot be aligned to its example's %d output steps (one step per label, and a blank between equal neighbours)" % (int(own[b]), int(ylen[b])))
        loss = (per / own.clamp(min=1).double()).sum().to(y.dtype)
        edits, total = 0, 0
        best, labels, own, ylen = logp.argmax(-1).cpu(), labels.cpu(), own.cpu(), ylen.cpu()
        for b in range(len(mine)):
            path = best[b, : int(ylen[b])].tolist()
            decoded = [c for t, c in enumerate(path) if c != cfg["blank"] and (t == 0 or c != path[t - 1])]
            edits += edit_distance(decoded, labels[b, : int(own[b])].tolist())
            total += int(own[b])
        rows = torch.tensor(float(len(mine)), dtype=y.dtype, device=y.device)
        return loss, rows, torch.tensor(float(edits)), torch.tensor(float(total))

    def train(self, batches, lrs, accumulate, report):
        pending = 0
        for k, idx in enumerate(batches):
            idx = np.asarray(idx, dtype=np.int64)
            lo, hi = self.rows(len(idx))
            empty = hi == lo
            if empty:  # fewer rows than processes: this one runs a row with weight 0 (DDP needs every process)
                lo, hi = 0, 1
            last = (k + 1) % accumulate == 0 or k == len(batches) - 1
            sync = contextlib.nullcontext() if self.world == 1 or last else self.net.no_sync()
            with sync:
                y, ylen = self.forward("train", idx, lo, hi, self.drawn)
                num, den, _, _ = self.loss_terms("train", idx, lo, hi, y, ylen)
                weight = 0.0 if empty else 1.0
                (total,) = self.reduce([float(den) * weight])
                loss = num * (weight * self.world / max(total, 1.0))
                loss.backward()
            self.drawn += 1
            pending += 1
            (value,) = self.reduce([float(loss.detach()) / self.world])
            if last:
                self.opt.lr = lrs[k]
                self.apply(pending)
                pending = 0
            report({"batch": k + 1, "loss": value, "size": len(idx)})

    @torch.no_grad()
    def apply(self, batches):
        """The mean of the batches' gradients, clipped by global norm (torch's rule), the update, then decoupled weight decay."""
        scale = 1.0 / batches
        clip = self.cfg.get("clip")
        if clip is not None:
            grads = [p.grad for p in self.params if p.grad is not None]
            norm = float(torch.stack(torch._foreach_norm(grads)).double().pow(2).sum().sqrt()) * scale
            s = clip / (norm + 1e-6)
            if s < 1:
                scale *= s
        self.opt.step(scale)
        decay = 1 - self.opt.lr * self.cfg["weightDecay"] if self.cfg.get("weightDecay") else 1
        if decay != 1:
            for p in self.params:
                if p.dim() >= 2:
                    p.mul_(decay)
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def evaluate(self, size):
        """The held-out split in batches of `size` in order, each on one process: the mean loss and metric per example, as fit() takes them."""
        n = self.data.size("held")
        sums = [0.0, 0.0]
        for j, start in enumerate(range(0, n, size)):
            if j % self.world != self.rank:
                continue
            idx = np.arange(start, min(n, start + size), dtype=np.int64)
            y, ylen = self.forward("held", idx, 0, len(idx), None)
            num, den, mnum, mden = self.loss_terms("held", idx, 0, len(idx), y, ylen)
            loss = float(num) / max(float(den), 1.0)
            # RMSE for mse; else the metric's own ratio (accuracy over valid steps, CTC's edits over labels), 0 over none
            metric = math.sqrt(loss) if mnum is None else (float(mnum) / float(mden) if float(mden) > 0 else 0.0)
            sums[0] += loss * len(idx)
            sums[1] += metric * len(idx)
        total = self.reduce(sums)
        return {"loss": total[0] / n, "metric": total[1] / n}

    def write_params(self, path):
        """The params and the optimizer's state: a JSON header, then float32 arrays in its order (rnnc reads them)."""
        named = self.module.rnnc_params(self.model)
        state = optimizer_state(self.opt, self.model, self.module, self.params)
        arrays = [t.detach().to(torch.float32).cpu().reshape(-1) for t in named.values()]
        arrays += [w.pop("tensor").to(torch.float32).reshape(-1) for w in state["weights"] if "tensor" in w]
        header = json.dumps({"params": [{"name": n, "shape": list(t.shape)} for n, t in named.items()], "optimizer": state}).encode("utf-8")
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(struct.pack("<I", len(header)) + header)
            for a in arrays:
                f.write(a.numpy().astype("<f4").tobytes())
        os.replace(tmp, path)


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, row[0] = row[0], i
        for j in range(1, len(b) + 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
    return row[len(b)]


def serve(cfg, world, rank, device, control):
    trainer = Trainer(cfg, world, rank, device)
    if control:
        control.send({"ready": True, "processes": world, "device": str(device), "backend": dist.get_backend() if world > 1 else None})
    while True:
        cmd = control.receive() if control else None
        if world > 1:
            box = [cmd]
            dist.broadcast_object_list(box, src=0)
            cmd = box[0]
        name = cmd["cmd"]
        if name == "stop":
            return
        if name == "train":
            trainer.train(cmd["batches"], cmd["lrs"], cmd["accumulate"], control.send if control else (lambda m: None))
            reply = {"done": True}
        elif name == "evaluate":
            reply = trainer.evaluate(cmd["size"])
        elif name == "params":
            if rank == 0:
                trainer.write_params(cmd["path"])
            reply = {"done": True}
        elif name == "restore":
            reply = {"restored": restore_optimizer(trainer.opt, trainer.model, trainer.module, trainer.params, cmd["state"])}
        else:
            raise TrainerError("unknown command %r" % name)
        if control:
            control.send(reply)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cfg = json.load(f)
    world, rank = int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = cfg["device"] == "cuda" or (cfg["device"] == "auto" and torch.cuda.is_available())
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.set_num_threads(cfg["threads"])
    control = None
    try:
        if world > 1:
            dist.init_process_group("nccl" if cuda else "gloo")
        control = Control(cfg["port"], cfg["token"]) if rank == 0 else None
        serve(cfg, world, rank, device, control)
        if world > 1:
            # Every process done, then out at once: tearing the group down in turn lets one see its peers gone
            # (gloo aborts then, on a loaded machine); the processes' exit is the group's end.
            dist.barrier()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)
    except Exception as e:  # reported to rnnc (rank 0) or on stderr, in one line; the traceback only on stderr for a bug
        known = isinstance(e, TrainerError)
        message = str(e) if known else "%s: %s" % (type(e).__name__, e)
        if not known:
            traceback.print_exc(file=sys.stderr)
        if control:
            control.send({"error": message, "rank": rank})
        else:
            sys.stderr.write("rnnc trainer, process %d: %s\n" % (rank, message))
        sys.exit(1)
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
