"""Activity recognition (the paper's §4.1): LRCN or the single-frame baseline on RGB or optical flow, late fusion.

Fast path (frozen CNN): every frame of every video goes through the CNN once, into the feature cache
(:mod:`lrcn.features.cache`); the heads then train on clips of cached features. Training samples a random
16-frame clip per video (``clips_per_video`` times an epoch); test takes clips of 16 every 8 frames and
averages the per-step softmax over steps, crops and clips (:func:`lrcn.models.activity.video_scores`).

End to end (``--finetune``): the CNN trains with the head, on random 16-frame clips decoded from the videos
in DataLoader workers, its learning rate scaled by ``backbone_lr_mult`` (0.1, the CNN's lr_mult in the
authors' fine-tuning solver). The training videos still go through the pretrained CNN once first, into the
cache: that pass finds the broken videos, fills the flow cache, and fits the whitening. Evaluation and
prediction then run the run's own fine-tuned CNN.

Parts: ``config`` (the run config), ``data`` (index, splits, clips, DataModule), ``module`` (LightningModule),
``train``, ``evaluate`` (test split, fusion), ``predictor`` (``lrcn.load``; no training code).
"""
