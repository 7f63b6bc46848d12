"""Frames -> CNN features: the spec of a feature, the inputs it reads, the one extractor, its engines, the cache.

- :mod:`lrcn.features.spec`: ``FeatureConfig`` (what a user sets) and ``FeatureSpec`` (what a feature depends on);
- :mod:`lrcn.features.inputs`: any input (a path, bytes, a PIL image, an array of frames) -> the CNN's crops;
- :mod:`lrcn.features.extractor`: the one place a CNN runs on frames, on any device;
- :mod:`lrcn.features.engines`: what runs it (PyTorch, OpenVINO, ONNX Runtime);
- :mod:`lrcn.features.cache`: every frame through the CNN once, reused by every model that reads it, filled by any
  number of processes; :mod:`lrcn.features.store`: how an entry is stored (fp16, or uint8 and a per-vector scale);
- :mod:`lrcn.features.root`: where the cache lives (features, converted engines, flow).

The imports run one way: cache -> extractor -> engines, inputs -> spec, store, root (what a feature depends on, at
the bottom); none of them is hidden inside a function to dodge a circle.
"""
