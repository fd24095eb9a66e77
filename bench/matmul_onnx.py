"""Writes the MatMul model the bench times for this machine's float32 peak: c = a @ b, n x n.

    python bench/matmul_onnx.py build/bench/matmul.onnx 1024
"""
import sys

import onnx
from onnx import TensorProto, helper

out, n = sys.argv[1], int(sys.argv[2])
graph = helper.make_graph(
    [helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
    [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in ("a", "b")],
    [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
model.ir_version = 9   # readable by every ONNX Runtime the job may pin
onnx.save(model, out)
