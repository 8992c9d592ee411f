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


_SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def _read_safetensors(path: str) -> Dict[str, Tensor]:
    """A .safetensors file's float tensors by name (rnnc's own names when save_rnnc_weights wrote it)."""
    import json
    import struct

    with open(path, "rb") as f:
        raw = f.read()
    (size,) = struct.unpack_from("<Q", raw, 0)
    if size > len(raw) - 8:
        raise ValueError("%s is not a safetensors file: its header length runs past its end" % path)
    header = json.loads(raw[8 : 8 + size].decode("utf-8"))
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError("%s: tensor %s is %s; rnnc weights are float tensors" % (path, name, entry["dtype"]))
        start, end = entry["data_offsets"]
        t = torch.frombuffer(bytearray(raw[8 + size + start : 8 + size + end]), dtype=dtype)
        out[name] = t.reshape(entry["shape"]).to(torch.float32)
    return out


def load_rnnc_weights(model: nn.Module, source) -> None:
    """Sets every param from an rnnc weights file (a path: rnnc's JSON, or .safetensors by rnnc names), its parsed JSON, or a dict of tensors by rnnc name.

    Every param must be there with its shape, and nothing else: all problems are listed in one ValueError.
    """
    import json

    if isinstance(source, str) and source.endswith(".safetensors"):
        source = _read_safetensors(source)
    elif isinstance(source, str):
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
    """Writes the params as an rnnc weights file, atomically: rnnc's JSON (rnnc run, eval, compile and train --resume
    read it), or for a path ending in .safetensors, float32 tensors by rnnc name (rnnc import FILE --spec S.rnn reads it
    back exactly)."""
    import json
    import math
    import os

    if path.endswith(".safetensors"):
        import struct
        import sys

        header, blobs, at = {"__metadata__": {"format": "rnnc-weights"}}, [], 0
        for name, p in rnnc_params(model).items():
            t = p.detach().to(torch.float32).cpu().contiguous().reshape(-1)
            if sys.byteorder != "little":
                t = t.view(torch.int32).byteswap().view(torch.float32)
            b = bytes(t.view(torch.uint8).tolist())  # no numpy: the module needs torch alone
            header[name] = {"dtype": "F32", "shape": list(p.shape), "data_offsets": [at, at + len(b)]}
            blobs.append(b)
            at += len(b)
        text = json.dumps(header).encode("utf-8")
        text += b" " * (-len(text) % 8)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
        os.replace(tmp, path)
        return

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
