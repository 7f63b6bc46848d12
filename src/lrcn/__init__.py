"""lrcn: Long-term Recurrent Convolutional Networks (Donahue et al., CVPR 2015), on a CPU."""

__version__ = "0.1.0"


def load(run):
    """Load a trained run folder for prediction: ``lrcn.load("runs/demo/activity-rgb-lrcn").predict("v.avi")``."""
    from lrcn.predict import load as _load

    return _load(run)
