import numpy as np
import pytest

from lrcn.errors import LrcnError
from lrcn.metrics.classification import accuracy, confusion_matrix, fuse, per_class_accuracy, plot_confusion


def test_accuracy_confusion_and_per_class_on_a_hand_computed_case():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0, 2])
    assert accuracy(predicted, labels) == pytest.approx(4 / 6)
    cm = confusion_matrix(predicted, labels, 4)
    assert cm.tolist() == [[1, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    per_class = per_class_accuracy(cm)
    assert per_class[:3].tolist() == pytest.approx([0.5, 2 / 3, 1.0])
    assert np.isnan(per_class[3])  # no example of class 3


def test_fusion_weights_each_stream_as_the_paper():
    rgb = np.array([[0.6, 0.4], [0.2, 0.8]])
    flow = np.array([[0.3, 0.7], [0.5, 0.5]])
    fused = fuse(rgb, flow, (1 / 3, 2 / 3))
    np.testing.assert_allclose(fused, [[0.4, 0.6], [0.4, 0.6]])
    np.testing.assert_allclose(fuse(rgb, flow), (rgb + flow) / 2)
    with pytest.raises(LrcnError, match="weights"):
        fuse(rgb, flow, (0.5, -0.5))


def test_confusion_png_is_written(tmp_path):
    plot_confusion(np.array([[3, 1], [0, 4]]), ["a", "b"], tmp_path / "cm.png", "t")
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list(tmp_path.iterdir()) == [tmp_path / "cm.png"]  # no temporary file left
