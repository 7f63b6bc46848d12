"""A PyTorch module to one ONNX file, with named dynamic dimensions: the one place lrcn calls ``torch.onnx.export``
(the ONNX Runtime engine of :mod:`lrcn.features.engines` converts its CNN here too).

A shape is a list of dimensions, a name for a dynamic one (``["N", "T", 11520]``): every input dimension named the
same is one ``torch.export.Dim``, and the file's inputs and outputs carry those names, so a runtime sees which sizes
may change and which must agree. The dynamo exporter gives outputs the example's sizes where an op's shape rule is
static (``nn.LSTM`` fixes T at the example's length), so the outputs' shapes are written from the spec and the
graph's inner shape annotations, optional in ONNX, are dropped rather than left stale.
"""
from __future__ import annotations

import hashlib
import inspect
import logging
import warnings
from pathlib import Path

import torch

Shape = list  # of int (fixed) or str (a named dynamic dimension)


def to_onnx(module: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path, inputs: dict[str, Shape],
            outputs: dict[str, Shape | None], opset: int | None = None) -> Path:
    """Export ``module(*example)`` to ``path``; ``inputs`` / ``outputs``: name -> shape, in argument / result order
    (an output's shape None: the exporter's). ``opset`` None: the exporter's default."""
    dims: dict[str, torch.export.Dim] = {}
    dynamic = tuple({i: dims.setdefault(d, torch.export.Dim(d, min=1)) for i, d in enumerate(shape) if isinstance(d, str)}
                    for shape in inputs.values())
    params = list(inspect.signature(module.forward).parameters.values())
    if params and params[-1].kind is inspect.Parameter.VAR_POSITIONAL:  # forward(x, *state): state's shapes nest
        dynamic = (*dynamic[: len(params) - 1], dynamic[len(params) - 1 :])
    passes = [logging.getLogger(name) for name in ("onnxscript", "onnx_ir")]  # the exporter's graph passes
    levels = [log.level for log in passes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings concern PyTorch's tracing, not the user's model
        for log in passes:
            log.setLevel(logging.WARNING)  # their INFO lines ("Replaced initializer ...") are for exporter developers
        try:
            torch.onnx.export(module.eval(), example, str(path), dynamo=True, opset_version=opset,
                              input_names=list(inputs), output_names=list(outputs),
                              dynamic_shapes=dynamic, external_data=False, verbose=False)
        finally:
            for log, level in zip(passes, levels):
                log.setLevel(level)
    if any(outputs.values()):
        _name_outputs(path, outputs)
    return path


def _name_outputs(path: Path, outputs: dict[str, Shape]) -> None:
    import onnx

    model = onnx.load(str(path))
    for value in model.graph.output:
        if outputs[value.name] is None:
            continue
        shape = value.type.tensor_type.shape
        del shape.dim[:]
        for d in outputs[value.name]:
            shape.dim.add().CopyFrom(onnx.TensorShapeProto.Dimension(**({"dim_param": d} if isinstance(d, str)
                                                                        else {"dim_value": d})))
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
