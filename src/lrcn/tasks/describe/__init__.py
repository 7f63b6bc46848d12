"""Video description (the paper's §4.3 on TACoS multilevel): an SR tuple <activity, tool, object, source, target>
from a CRF over visual classifiers, then an LSTM that writes the sentence.

A run folder holds ``config.yaml``, ``model.json``, ``vocab.json``, ``sr/`` (the SR stage: ``stage.json``,
``pca.pt``, ``checkpoints/``, ``outputs.pt``) and the generator's ``checkpoints/``, whose weights hold the whole
network (PCA, SR model + CRF, generator). The SR stage is shared by the four generators: ``--sr-from OTHER_RUN``
copies OTHER_RUN/sr instead of training it again.

The generators that read the CRF (sr-encdec, crf-max, crf-prob) are trained on CRF outputs for the training
intervals computed by cross-fitting (``--sr-folds`` SR models, each predicting the fold it did not see), so in
training they meet the same kind of uncertain, sometimes wrong SR they meet at test time.

Parts: ``config``, ``data`` (intervals and their frame features), ``sr_stage`` (PCA, SR + CRF, cross-fitted
outputs), ``network``, ``module`` (the generator's training), ``train``, ``evaluate``, ``predictor``.
"""
