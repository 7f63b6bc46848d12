"""lrcn: Long-term Recurrent Convolutional Networks (Donahue et al., CVPR 2015), on a CPU."""

__version__ = "0.2.0"


def load(path, device: str = "auto", **options):
    """A trained run folder or an export, ready to predict: ``lrcn.load("runs/demo/activity-rgb-lrcn").predict("v.avi")``.

    ``device``: auto, cpu, cuda or mps; ``options``: the task's (``top_k``, ``beam``, ...). See :mod:`lrcn.predict`.
    """
    from lrcn.predict import load as _load

    return _load(path, device=device, **options)
