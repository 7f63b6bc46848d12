"""``lrcn doctor``: this machine, the versions, and what every ``auto`` resolves to here (for a bug report)."""
import json

import typer

from lrcn.cli.apps import app


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout."),
    bench: bool = typer.Option(False, help="Also time each CNN engine at 224 px here (under a minute; the first run "
                                           "converts the CNN for each engine and keeps it in the cache)."),
) -> None:
    """The machine (CPU, ISA, GPUs, memory), the versions, and each auto choice with its reason."""
    from lrcn.doctor import report

    facts = report(bench=bench)
    if as_json:
        typer.echo(json.dumps(facts, indent=2))
        return
    m, cpu = facts["machine"], facts["machine"]["cpu"]
    typer.echo(f"CPU      {cpu['model']} ({cpu['arch']}), {cpu['cores']} cores, {cpu['isa']}")
    typer.echo(f"ISA      {' '.join(cpu['features']) or '-'}"
               + (f"  (held back: {' '.join(cpu['held_back'])})" if cpu["held_back"] else "")
               + f"; torch kernels {cpu['aten_cpu_capability']}")
    for g in m["gpus"] or [None]:
        typer.echo("GPU      " + (f"{g['index']}: {g['name']}, sm {g['capability']}, {g['memory_gb']} GB, "
                                  f"bf16 {'yes' if g['bf16'] else 'no'}" if g else "none (CUDA not visible to torch)"))
    typer.echo(f"memory   {m['memory_gb']} GB; {m['os']}")
    if facts["openvino"]:
        typer.echo(f"OpenVINO CPU plugin: {' '.join(facts['openvino']['optimization_capabilities'])}")
    typer.echo("versions " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items() if isinstance(v, str)))
    for device, picks in facts["auto"].items():
        typer.echo(f"auto on {device}:")
        for option, c in picks.items():
            typer.echo(f"  {option:28} {c['value']:6} {c['why']}")
    if bench:
        b = facts["bench"]
        typer.echo(f"CNN engines ({b['backbone']}, {b['image_size']} px, batches of {b['batch']}, "
                   f"{b['gflop_per_frame']} GFLOP a frame):")
        for name, r in b["engines"].items():
            typer.echo(f"  {name:18} {r['frames_per_s']:7.1f} frames/s  {r['gflops']:6.1f} GFLOP/s = "
                       f"{100 * r['share_of_matmul_bound']:.0f}% of this CPU's matrix products "
                       f"({r['matmul_gflops']:.0f} GFLOP/s)")
