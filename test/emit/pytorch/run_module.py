"""Runs a module rnnc compiled with --target pytorch on an rnnc input file; prints its outputs as JSON (the tests' peer)."""
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
    if len(sys.argv) > 3:
        mod.load_rnnc_weights(model, sys.argv[3])
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
    with torch.no_grad():
        out = model(*[args.get("in_" + n) for n in model.INPUT_KINDS], *[args.get("in_" + n + "_lengths") for n, (_, s) in model.INPUT_KINDS.items() if s])
    print(json.dumps({k: v.tolist() for k, v in out.items()}))


if __name__ == "__main__":
    main()
