"""Deployment without Python's training stack: ``lrcn export RUN OUT --format onnx`` writes ONNX graphs that any ONNX
runtime (ONNX Runtime, OpenVINO, TensorRT) runs, with a ``config.json`` section that says everything a runner needs.

- :mod:`lrcn.deploy.graph`: a module to an ONNX file (torch's dynamo exporter, named dynamic dimensions);
- :mod:`lrcn.deploy.nets`: what the graphs compute (the CNN on uint8 frames, the LSTM stepped with its state);
- :mod:`lrcn.deploy.payload`: the graphs and the ``"onnx"`` section of an export, for an activity or a caption run;
- :mod:`lrcn.deploy.parity`: ONNX Runtime against the PyTorch model at export time.

The reference runner, which needs neither torch nor lrcn, is ``examples/onnx/`` (``docs/onnx.md``).
"""
