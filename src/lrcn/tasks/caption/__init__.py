"""Image captioning and image-sentence retrieval with LRCN (research.md §2, §3).

Fast path: every image goes through the frozen CNN once (the feature cache: a 3x3 grid of the last feature map,
our pool5); a learned projection of that grid (our "fc8", ``image_dim`` wide, the paper's static image input)
and the LSTMs train on top. ``--finetune`` puts the CNN in the loop instead (its learning rate scaled by
``backbone_lr_mult``, 0.1 as the authors' fine-tuning solver). A training batch is a set of images with all
their captions, so each image's projection is computed once for its ~5 captions.

Parts: ``config``, ``data`` (readers of the folder, features, batches), ``network``, ``module`` (training),
``train``, ``evaluate`` (captions: COCO metrics, nearest-neighbour baseline, gallery), ``retrieval`` (R@K,
median rank), ``predictor`` (``lrcn.load``; no training code).
"""
