"""The Typer applications that command modules attach to: ``lrcn``, ``lrcn train``, ``lrcn eval``, ``lrcn synth``."""
import typer

_opts = dict(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)

app = typer.Typer(help="LRCN: CNN per frame + LSTM, for activity recognition, captioning, retrieval and video description.", **_opts)
train_app = typer.Typer(help="Train a model; writes a run folder.", **_opts)
eval_app = typer.Typer(help="Evaluate a run folder; writes RUN/metrics.json and prints a table.", **_opts)
synth_app = typer.Typer(help="Write an embedded synthetic data set in its real format.", **_opts)
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")
app.add_typer(synth_app, name="synth")
