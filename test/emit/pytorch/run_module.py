"""Runs a module rnnc compiled with --target pytorch on an rnnc input file; prints its outputs as JSON (the tests' peer).

With a third argument (a JSON file of weights by output name), prints instead the gradients, by rnnc param name, of
L = sum over those outputs of output * weight (padded steps are zero in the module's outputs).
"""
import importlib.util
import json
import sys

import torch


def main() -> None:
    module_path, input_path = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("compiled", module_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    model = mod.Model()
    model.eval()
    with open(input_path, encoding="utf-8") as f:
        given = json.load(f)
    lengths = given.get("lengths", {})
    args = {}
    for name, (dtype, is_seq) in model.INPUT_KINDS.items():
        value = torch.tensor(given[name], dtype=getattr(torch, dtype))
        args["in_" + name] = value
        if is_seq and name in lengths:
            args["in_" + name + "_lengths"] = torch.tensor(lengths[name], dtype=torch.int64)
    call = [args.get("in_" + n) for n in model.INPUT_KINDS] + [args.get("in_" + n + "_lengths") for n, (_, s) in model.INPUT_KINDS.items() if s]
    if len(sys.argv) > 3:
        with open(sys.argv[3], encoding="utf-8") as f:
            loss_weights = json.load(f)
        out = model(*call)
        loss = sum((out[name] * torch.tensor(w, dtype=torch.float32)).sum() for name, w in loss_weights.items())
        loss.backward()
        # rnnc's params may be views of torch's own (nn.LSTM's weights): each param's data swapped for its gradient
        # makes those same views read the gradients
        with torch.no_grad():
            for p in model.parameters():
                p.data = p.grad if p.grad is not None else torch.zeros_like(p)
        print(json.dumps({name: g.reshape(-1).tolist() for name, g in mod.rnnc_params(model).items()}))
        return
    with torch.no_grad():
        out = model(*call)
    print(json.dumps({k: v.tolist() for k, v in out.items()}))


if __name__ == "__main__":
    main()
