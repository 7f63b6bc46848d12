"""One module per task: its configs, LightningModule, DataModule, evaluation and ``load_predictor(run)``."""
