// The Python a compiled PyTorch module carries to read and write rnnc weights (the JSON format of src/weights/weights.ts), exactly.

/** `rnnc_params`, `load_rnnc_weights`, `save_rnnc_weights` and the embedded weights' decoder. */
export const WEIGHTS_PY = `
_NONFINITE = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def _decode(shape: List[int], data: str) -> Tensor:
    """Little-endian float32 bytes in base64 as a tensor of that shape."""
    import base64
    import sys

    t = torch.frombuffer(bytearray(base64.b64decode(data)), dtype=torch.float32)
    if sys.byteorder != "little":
        t = t.view(torch.int32).byteswap().view(torch.float32)
    return t.reshape(shape).clone()


def rnnc_params(model: nn.Module) -> Dict[str, Tensor]:
    """The model's params by their rnnc names (\`layer.param\`), in the spec's order: torch's own or views of them."""
    out: Dict[str, Tensor] = {}
    for layer, attr in model.LAYERS.items():
        for name, p in getattr(model, attr).rnnc_params().items():
            out[layer + "." + name] = p
    return out


def load_rnnc_weights(model: nn.Module, source) -> None:
    """Sets every param from an rnnc weights file (a path), its parsed JSON, or a dict of tensors by rnnc name.

    Every param must be there with its shape, and nothing else: all problems are listed in one ValueError.
    """
    import json

    if isinstance(source, str):
        with open(source, "r", encoding="utf-8") as f:
            source = json.load(f)
    if isinstance(source, dict) and source.get("format") == "rnnc-weights":
        if source.get("version") != 1:
            raise ValueError("rnnc weights version %r is not supported (this module reads version 1)" % (source.get("version"),))
        given = {}
        for name, entry in source.get("params", {}).items():
            data = [_NONFINITE[v] if isinstance(v, str) and v in _NONFINITE else v for v in entry["data"]]
            given[name] = torch.tensor(data, dtype=torch.float32).reshape(entry["shape"])
    else:
        given = dict(source)
    params = rnnc_params(model)
    problems = []
    for name, p in params.items():
        t = given.get(name)
        if t is None:
            problems.append("param %s is missing (expected shape %s)" % (name, list(p.shape)))
        elif list(t.shape) != list(p.shape):
            problems.append("param %s has shape %s, expected %s" % (name, list(t.shape), list(p.shape)))
    problems += ["%s is not a param of this model" % name for name in given if name not in params]
    if problems:
        raise ValueError("the weights do not fit the model:\\n  " + "\\n  ".join(problems))
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(given[name].to(torch.float32))


def save_rnnc_weights(model: nn.Module, path: str) -> None:
    """Writes the params as an rnnc weights file (rnnc run, eval, compile and train --resume read it), atomically."""
    import json
    import math
    import os

    def value(x: float):
        return x if math.isfinite(x) else ("NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity"))

    params = {}
    for name, p in rnnc_params(model).items():
        t = p.detach().to(torch.float32).cpu()
        params[name] = {"shape": list(t.shape), "data": [value(x) for x in t.reshape(-1).tolist()]}
    text = json.dumps({"format": "rnnc-weights", "version": 1, "params": params})
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
`;
