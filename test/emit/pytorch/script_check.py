"""Each compiled module (path, input pairs) through torch.jit.script, or torch.compile with --compile: the largest output
difference from the eager module, printed as JSON by path (a failure to script or compile is the test's failure)."""
import importlib.util
import json
import sys

import torch


def load(path: str):
    spec = importlib.util.spec_from_file_location("compiled_" + str(abs(hash(path))), path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    args = sys.argv[1:]
    mode = "script"
    if args and args[0] == "--compile":
        mode, args = "compile", args[1:]
    result = {}
    for path, input_path in zip(args[0::2], args[1::2]):
        model = load(path).Model().eval()
        with open(input_path, encoding="utf-8") as f:
            given = json.load(f)
        lengths = given.get("lengths", {})
        call = [torch.tensor(given[n], dtype=getattr(torch, d)) for n, (d, _) in model.INPUT_KINDS.items()]
        call += [torch.tensor(lengths[n]) if n in lengths else None for n, (_, s) in model.INPUT_KINDS.items() if s]
        other = torch.jit.script(model) if mode == "script" else torch.compile(model)
        with torch.no_grad():
            a, b = other(*call), model(*call)
        result[path] = max(float((a[k].double() - b[k].double()).abs().max()) if a[k].numel() else 0.0 for k in b)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
