"""Interpretation commands: interpret, interpret-benchmark."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from ..config import DEFAULTS
from ._app import UsageProblem, app, say, say_report
from ._interrupt import nothing_written, says_what_was_kept
from .core import ALLOW_BINS_HELP, DEVICE_HELP, warnings_said

METHODS_HELP = (
    "Comma-separated methods: attention, attention_x_beta, saliency, input_x_gradient, integrated_gradients, deeplift, occlusion."
)


@app.command()
@says_what_was_kept(nothing_written)
def interpret(
    model: str = typer.Option(..., "--model", "-m", help="Run directory or checkpoint file (ours or an original .pt); a regression model's maps explain its predicted log1p expression."),
    input: Path = typer.Option(..., "--input", "-i", help="AttentiveChrome CSV, with or without labels."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write (created)."),
    genes: Optional[List[str]] = typer.Option(
        None, "--genes", "-g", help="Explain only these gene ids (repeat the option or separate ids by commas); each gets its pictures."
    ),
    genes_file: Optional[Path] = typer.Option(None, help="A file of gene ids to explain, one per line."),
    methods: str = typer.Option("attention,saliency,integrated_gradients,deeplift,occlusion", help=METHODS_HELP),
    by: str = typer.Option(
        "predicted",
        help="Group class averages by predicted class (probability >= 0.5), by rank (higher half of the predictions) or by label. "
        "Regression models group by rank for 'predicted'.",
    ),
    batch_size: int = typer.Option(128, help="Genes per batch."),
    n_steps: int = typer.Option(32, help="Integration steps of integrated gradients."),
    window: int = typer.Option(5, help="Occlusion window, in bins of one mark."),
    stride: Optional[int] = typer.Option(None, help="Occlusion stride in bins (default: the window)."),
    tsv: bool = typer.Option(True, "--tsv/--no-tsv", help="Also write the tidy TSV of every map (large for whole genomes)."),
    max_gene_plots: int = typer.Option(
        12, help="Genes that get their own pictures: the first ones named with --genes, else half the highest and half the lowest predictions."
    ),
    bin_size: int = typer.Option(100, help="Base pairs per bin; figures place the bins in kb from the TSS (the window is centred on it)."),
    device: str = typer.Option(DEFAULTS.device, help=DEVICE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
) -> None:
    """Write attention and attribution maps, class-average pictures and a summary for a set of genes."""
    from .. import _settings
    from ..data import read_csv
    from ..interpret import check_methods, write_interpretation
    from ..trained import load_model

    method_names = check_methods(methods)
    if by not in ("predicted", "rank", "label"):
        raise UsageProblem(f"--by must be predicted, rank or label, got {by!r}")
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"{out}: exists and is not a directory")
    if max_gene_plots < 0:
        raise UsageProblem(f"--max-gene-plots must be 0 or more, got {max_gene_plots}")
    if bin_size < 1:
        raise UsageProblem(f"--bin-size must be at least 1 bp, got {bin_size}")
    wanted = _gene_list(genes, genes_file)
    started = time.perf_counter()
    loaded = load_model(model)
    loaded.allow_bin_mismatch = allow_bin_mismatch
    data = read_csv(input)
    if by == "label" and data.labels is None:
        raise UsageProblem(f"{input}: has no label column; use --by predicted or --by rank")
    with warnings_said():
        loaded.check(data)  # before any work: marks that do not fit stop here
        result = write_interpretation(
            loaded,
            data,
            out,
            methods=method_names,
            genes=wanted,
            by=by,
            batch_size=batch_size,
            device=_settings.resolve_device(device),
            n_steps=n_steps,
            window=window,
            stride=stride,
            tsv=tsv,
            max_gene_plots=max_gene_plots,
            progress=None if not quiet else False,
            model_source=str(model),
            bin_size=bin_size,
        )
    say(
        f"explained {result.n_genes} genes with {', '.join(result.methods)} in {time.perf_counter() - started:.1f}s; "
        f"wrote {len(result.files)} outputs to {out} (see {out / 'summary.md'})"
    )
    empty = [cls for cls, n in zip(("high", "low"), result.averages.n_genes) if n == 0]
    grouped = result.averages.by  # a regression model groups by rank even when --by is predicted
    if empty and result.n_genes > 1:
        hint = "; --by rank splits the genes at their median prediction" if grouped == "predicted" else ""
        say(f"warning: no gene fell in the {' or '.join(empty)} class (grouped by {grouped}), so its class averages are empty{hint}")
    say_report(out)


@app.command("interpret-benchmark")
@says_what_was_kept(nothing_written)
def interpret_benchmark(
    data: Path = typer.Option(..., "--data", "-d", help="Simulated data directory (from `simulate`) with truth.npz."),
    model: str = typer.Option(..., "--model", "-m", help="Run directory or checkpoint trained on that data."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write the table and plot (created)."),
    methods: str = typer.Option(
        "attention,attention_x_beta,saliency,input_x_gradient,integrated_gradients,deeplift,occlusion", help=METHODS_HELP
    ),
    split: str = typer.Option("test", help="Which split's genes to score: train, valid or test."),
    max_genes: Optional[int] = typer.Option(None, help="Score a random subset of this many genes."),
    batch_size: int = typer.Option(128, help="Genes per batch."),
    n_steps: int = typer.Option(32, help="Integration steps of integrated gradients."),
    window: int = typer.Option(5, help="Occlusion window, in bins of one mark."),
    seed: int = typer.Option(0, help="Seeds the random floor and the gene subset."),
    device: str = typer.Option(DEFAULTS.device, help=DEVICE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
) -> None:
    """Score every method against the simulator's planted signal, with a random map as the floor."""
    from .. import _settings
    from ..data import read_csv, split_paths
    from ..data.synthetic import TRUTH_FILE, load_truth
    from ..interpret import check_methods, run_benchmark, write_benchmark
    from ..trained import load_model

    method_names = check_methods(methods)
    if split not in ("train", "valid", "test"):
        raise UsageProblem(f"--split must be train, valid or test, got {split!r}")
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"{out}: exists and is not a directory")
    paths = split_paths(data)
    truth_path = paths[split].parent / TRUTH_FILE
    if not truth_path.is_file():
        raise UsageProblem(f"{data}: has no {TRUTH_FILE}; the benchmark needs a directory written by `attentivechrome simulate`")
    started = time.perf_counter()
    loaded = load_model(model)
    loaded.allow_bin_mismatch = allow_bin_mismatch
    genes = read_csv(paths[split])
    with warnings_said():
        loaded.check(genes)
        result = run_benchmark(
            loaded,
            genes,
            load_truth(truth_path),
            methods=method_names,
            max_genes=max_genes,
            batch_size=batch_size,
            device=_settings.resolve_device(device),
            n_steps=n_steps,
            window=window,
            seed=seed,
            progress=None if not quiet else False,
        )
    files = write_benchmark(result, out)
    typer.echo(result.to_markdown(), nl=False)
    say(f"scored {len(result.gene_ids)} {split} genes in {time.perf_counter() - started:.1f}s; wrote " + ", ".join(str(p) for p in files.values()))
    say_report(out)


def _gene_list(genes: list[str] | None, genes_file: Path | None) -> list[str] | None:
    wanted = [g.strip() for value in (genes or []) for g in value.split(",") if g.strip()]
    if genes_file is not None:
        if not genes_file.is_file():
            raise UsageProblem(f"{genes_file}: no such file of gene ids")
        wanted += [line.strip() for line in genes_file.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    return wanted or None
