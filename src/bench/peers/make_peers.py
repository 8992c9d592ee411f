# Writes the ONNX peer models `npm run bench` times onnxruntime-web on: one LSTM and one GRU layer (input 64,
# hidden 128, random weights; sequence length and batch left free). Run once: python3 src/bench/peers/make_peers.py
import os
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
I, H = 64, 128
rng = np.random.default_rng(0)


def model(op: str, gates: int, **attrs) -> onnx.ModelProto:
    W = numpy_helper.from_array((rng.standard_normal((1, gates * H, I)) * 0.1).astype(np.float32), "W")
    R = numpy_helper.from_array((rng.standard_normal((1, gates * H, H)) * 0.1).astype(np.float32), "R")
    B = numpy_helper.from_array(np.zeros((1, 2 * gates * H), np.float32), "B")
    x = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "N", I])
    y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["T", 1, "N", H])
    node = helper.make_node(op, ["X", "W", "R", "B"], ["Y"], hidden_size=H, **attrs)
    graph = helper.make_graph([node], f"{op.lower()}_peer", [x], [y], initializer=[W, R, B])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


onnx.save(model("LSTM", 4), os.path.join(HERE, "lstm.onnx"))
onnx.save(model("GRU", 3, linear_before_reset=0), os.path.join(HERE, "gru.onnx"))
print("wrote lstm.onnx and gru.onnx")
