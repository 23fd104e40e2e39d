"""Interpretation commands: interpret, interpret-benchmark."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional, Tuple

import typer

from . import _options as opt
from ._app import UsageProblem, app, say, say_report
from ._interrupt import nothing_written, says_what_was_kept
from ._outputs import claim_folder, record_owner
from ._options import ORIENTATION, explain_options
from .core import ALLOW_BINS_HELP, warnings_said

METHODS_HELP = (
    "Comma-separated methods: attention, attention_x_beta, saliency, input_x_gradient, integrated_gradients, deeplift, occlusion."
)


@app.command()
@says_what_was_kept(nothing_written)
def interpret(
    model: str = typer.Option(..., "--model", "-m", help="Run directory or checkpoint file (ours or an original .pt); a regression model's maps explain its predicted log1p expression."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="AttentiveChrome CSV, with or without labels."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write (created)."),
    contrast: Optional[Tuple[Path, Path]] = typer.Option(
        None, "--contrast", help="Two CSVs of the same genes in two cells (A then B): which marks and bins make each gene differ (in place of --input)."
    ),
    reference_expression: Optional[Path] = typer.Option(None, "--reference-expression", help="The reference-expression table of a model trained with one (default: the one it recorded)."),
    cell: Optional[str] = typer.Option(None, "--cell", help="The input's cell in the reference table (default: from its directory name); with --contrast, two names A,B."),
    expression: Optional[Path] = typer.Option(None, "--expression", help="Observed expression (gene_id,value) shown beside each prediction; default expression.csv beside the input, when there."),
    genes: Optional[List[str]] = typer.Option(
        None, "--genes", "-g", help="Explain only these gene ids (repeat the option or separate ids by commas); each gets its pictures."
    ),
    genes_file: Optional[Path] = typer.Option(None, help="A file of gene ids to explain, one per line."),
    methods: str = typer.Option("attention,integrated_gradients,occlusion", help=METHODS_HELP + " DeepLift equals input x gradient on these models."),
    by: str = typer.Option(
        "predicted",
        help="Group class averages by predicted class (probability >= 0.5), by rank (higher half of the predictions) or by label. "
        "Regression models group by rank for 'predicted'.",
    ),
    batch_size: int = opt.EXPLAIN_BATCH_SIZE,
    n_steps: int = opt.EXPLAIN_N_STEPS,
    window: int = opt.EXPLAIN_WINDOW,
    stride: Optional[int] = typer.Option(None, help="Occlusion stride in bins (default: the window)."),
    tsv: bool = typer.Option(True, "--tsv/--no-tsv", help="Also write the tidy TSV of every map (large for whole genomes)."),
    max_gene_plots: int = typer.Option(
        12, help="Genes that get their own pictures: the first ones named with --genes, else half the highest and half the lowest predictions."
    ),
    bin_size: int = typer.Option(100, help="Base pairs per bin; figures place the bins in kb from the TSS (the window is centred on it)."),
    orientation: Optional[str] = ORIENTATION,
    tss: Optional[Path] = typer.Option(None, "--tss", help="Gene coordinates for bedGraph tracks of every map: GTF/GFF3, BED6 or a table with gene_id, chrom, strand, tss_0based|tss_1based (default: featurize's manifest of the input, when there)."),
    tracks: bool = typer.Option(True, "--tracks/--no-tracks", help="Write the bedGraph tracks when the genes' coordinates are known."),
    device: str = opt.EXPLAIN_DEVICE,
    quiet: bool = opt.EXPLAIN_QUIET,
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
    overwrite: bool = opt.EXPLAIN_OVERWRITE,
    faithfulness: bool = typer.Option(
        False,
        "--faithfulness",
        help="Also measure each method's maps by deletion and insertion (each gene's top cells by |map| removed, or put back on the baseline): "
        "faithfulness.tsv with random and input rows, the mean curves and figures/faithfulness.",
    ),
    faithfulness_baseline: str = typer.Option("zero", "--faithfulness-baseline", help="What removed cells become: zero (no reads) or mean (the genes' mean profile per mark and bin)."),
    faithfulness_steps: int = typer.Option(11, "--faithfulness-steps", help="Fractions per curve, evenly from 0 to 100% (at least 3)."),
    faithfulness_min_effect: float = typer.Option(
        0.5, "--faithfulness-min-effect", help="Score only genes whose output moves at least this much from the full input to the baseline (logits, or log1p expression)."
    ),
) -> None:
    """Write attention and attribution maps, class-average pictures and a summary for a set of genes.

    A reference-informed model's maps explain what the marks add to the prior (the prior is held
    fixed); predictions.tsv then shows each gene's prior, prediction and, when known, the observed value.
    """
    from .. import _settings
    from ..data import read_csv
    from ..data.orientation import resolve_orientation
    from ..interpret import check_methods
    from ..trained import load_model
    from ..workflows import interpret_model
    from ._reference import bind

    if (input is None) == (contrast is None):
        raise UsageProblem("give --input FILE to explain its genes, or --contrast A.csv B.csv to explain how they differ between two cells")
    if faithfulness:
        if contrast is not None:
            raise UsageProblem("--faithfulness measures the maps of --input's genes; it does not apply to --contrast")
        if faithfulness_baseline not in ("zero", "mean"):
            raise UsageProblem(f"--faithfulness-baseline must be zero or mean, got {faithfulness_baseline!r}")
        if faithfulness_steps < 3:
            raise UsageProblem(f"--faithfulness-steps must be at least 3 (0%, the fractions between, 100%), got {faithfulness_steps}")
        if not faithfulness_min_effect >= 0:
            raise UsageProblem(f"--faithfulness-min-effect must be 0 or more, got {faithfulness_min_effect}")
    options = explain_options(batch_size=batch_size, n_steps=n_steps, window=window, stride=stride, device=device)
    claim_folder(out, "interpret", overwrite=overwrite)  # another command's folder is refused unless --overwrite
    if contrast is not None:
        _interpret_contrast(model, contrast, out, reference_expression, cell, options, bin_size, allow_bin_mismatch, _gene_list(genes, genes_file), orientation)
        record_owner(out, "interpret")
        return
    method_names = check_methods(methods)
    if by not in ("predicted", "rank", "label"):
        raise UsageProblem(f"--by must be predicted, rank or label, got {by!r}")
    if max_gene_plots < 0:
        raise UsageProblem(f"--max-gene-plots must be 0 or more, got {max_gene_plots}")
    if bin_size < 1:
        raise UsageProblem(f"--bin-size must be at least 1 bp, got {bin_size}")
    wanted = _gene_list(genes, genes_file)
    _settings.keep_freed_memory()  # the attribution passes reuse their freed buffers instead of faulting in fresh pages
    started = time.perf_counter()
    loaded = bind(load_model(model), reference_expression, input, cell)
    data = read_csv(input)
    coordinates = _coordinates(tss, resolve_orientation(orientation, loaded.orientation, data.orientation)[0], data) if tracks and tss is not None else None
    observed = _observed_expression(input, expression)
    if by == "label" and data.labels is None:
        raise UsageProblem(f"{input}: has no label column; use --by predicted or --by rank")
    with warnings_said():
        loaded.check(data, allow_bin_mismatch=allow_bin_mismatch)  # before any work: marks that do not fit stop here
        result = interpret_model(
            loaded,
            data,
            out,
            allow_bin_mismatch=allow_bin_mismatch,
            methods=method_names,
            genes=wanted,
            by=by,
            options=options,
            tsv=tsv,
            max_gene_plots=max_gene_plots,
            progress=None if not quiet else False,
            model_source=str(model),
            bin_size=bin_size,
            expression=observed,
            faithfulness=faithfulness,
            faithfulness_baseline=faithfulness_baseline,
            faithfulness_steps=faithfulness_steps,
            faithfulness_min_effect=faithfulness_min_effect,
            orientation=orientation,
            coordinates=coordinates,
            tracks=tracks,
        )
    record_owner(out, "interpret")
    say(
        f"explained {result.n_genes} genes with {', '.join(result.methods)} in {time.perf_counter() - started:.1f}s; "
        f"wrote {len(result.files)} outputs to {out} (see {out / 'summary.md'})"
    )
    if result.faithfulness is not None:
        best = result.faithfulness.table().dropna(subset=["deletion_auc"])
        if len(best):
            top = best.sort_values("deletion_auc").iloc[0]
            say(
                f"faithfulness on {result.faithfulness.n_genes} genes: lowest deletion AUC {top.deletion_auc:.3f} ({top.method}); "
                f"see {out / 'faithfulness.tsv'}"
            )
        else:
            say(f"faithfulness: no gene's output moved by {faithfulness_min_effect:g} between the input and the baseline; no area to report")
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
    batch_size: int = opt.EXPLAIN_BATCH_SIZE,
    n_steps: int = opt.EXPLAIN_N_STEPS,
    window: int = opt.EXPLAIN_WINDOW,
    seed: int = typer.Option(0, help="Seeds the random floor and the gene subset."),
    device: str = opt.EXPLAIN_DEVICE,
    quiet: bool = opt.EXPLAIN_QUIET,
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
    overwrite: bool = opt.EXPLAIN_OVERWRITE,
) -> None:
    """Score every method against the simulator's planted signal, with a random map as the floor."""
    from ..data import read_csv, split_paths
    from ..data.synthetic import TRUTH_FILE, load_truth
    from ..interpret import check_methods, write_ground_truth_benchmark
    from ..trained import load_model
    from ..workflows import benchmark_model

    method_names = check_methods(methods)
    if split not in ("train", "valid", "test"):
        raise UsageProblem(f"--split must be train, valid or test, got {split!r}")
    options = explain_options(batch_size=batch_size, n_steps=n_steps, window=window, device=device)
    claim_folder(out, "interpret-benchmark", overwrite=overwrite)  # e.g. a `benchmark --out` folder: its benchmark.md would be replaced
    paths = split_paths(data)
    truth_path = paths[split].parent / TRUTH_FILE
    if not truth_path.is_file():
        raise UsageProblem(f"{data}: has no {TRUTH_FILE}; the benchmark needs a directory written by `attentivechrome simulate`")
    started = time.perf_counter()
    loaded = load_model(model)
    genes = read_csv(paths[split])
    with warnings_said():
        loaded.check(genes, allow_bin_mismatch=allow_bin_mismatch)
        result = benchmark_model(
            loaded,
            genes,
            load_truth(truth_path),
            allow_bin_mismatch=allow_bin_mismatch,
            methods=method_names,
            max_genes=max_genes,
            options=options,
            seed=seed,
            progress=None if not quiet else False,
        )
    files = write_ground_truth_benchmark(result, out)
    record_owner(out, "interpret-benchmark")
    typer.echo(result.to_markdown(), nl=False)
    say(f"scored {len(result.gene_ids)} {split} genes in {time.perf_counter() - started:.1f}s; wrote " + ", ".join(str(p) for p in files.values()))
    say_report(out)


def _observed_expression(input_path: Path, expression: Path | None):
    """log1p of the observed expression of the input's genes: ``--expression``, else ``expression.csv`` beside the input when there."""
    import numpy as np

    from ..data.expression import EXPRESSION_FILE, read_expression

    if expression is None:
        candidates = [input_path.parent / EXPRESSION_FILE, input_path.parent.parent / EXPRESSION_FILE]
        expression = next((c for c in candidates if c.is_file()), None)
        if expression is None:
            return None
    return np.log1p(read_expression(expression))


def _interpret_contrast(model_ref, files, out, table_path, cells, options, bin_size, allow_bin_mismatch, wanted=None, orientation=None) -> None:
    """``interpret --contrast A B``: the genes both files hold, the difference of their predictions attributed to marks and bins."""
    import numpy as np

    from ..data import read_csv
    from ..data.orientation import resolve_orientation
    from ..interpret.contrast import contrast_maps, write_contrast
    from ..trained import load_model
    from ._reference import bind, cell_of

    file_a, file_b = files
    names = [c.strip() for c in cells.split(",")] if cells else []
    if cells and len(names) != 2:
        raise UsageProblem(f"--cell with --contrast names the two cells, A,B; got {cells!r}")
    name_a, name_b = names or (cell_of(file_a, None), cell_of(file_b, None))
    started = time.perf_counter()
    loaded = load_model(model_ref)
    model_a, model_b = bind(loaded, table_path, file_a, name_a), bind(loaded, table_path, file_b, name_b)
    data_a, data_b = read_csv(file_a), read_csv(file_b)
    common = np.intersect1d(data_a.gene_ids, data_b.gene_ids)
    if not len(common):
        raise UsageProblem(f"{file_a} and {file_b} share no gene id; --contrast compares the same genes in two cells")
    if wanted:  # --genes: only these (each must be in both files)
        absent = [g for g in wanted if g not in set(common)]
        if absent:
            raise UsageProblem(f"--genes: {', '.join(absent[:3])} not in both {file_a} and {file_b}")
        common = np.array(wanted)
    keep_a = np.isin(data_a.gene_ids, common)
    order_b = {gene: i for i, gene in enumerate(data_b.gene_ids)}
    data_a = data_a.subset(np.flatnonzero(keep_a))
    data_b = data_b.subset(np.array([order_b[g] for g in data_a.gene_ids]))
    with warnings_said():
        prepared_a, prepared_b = model_a.prepare(data_a, allow_bin_mismatch=allow_bin_mismatch), model_b.prepare(data_b, allow_bin_mismatch=allow_bin_mismatch)
        result = contrast_maps(loaded.module, prepared_a, prepared_b, options=options, output=loaded.output_scale)
    orientation = resolve_orientation(orientation, loaded.orientation, data_a.orientation)[0]
    files_written = write_contrast(result, out, (name_a, name_b), bin_size=bin_size, orientation=orientation)
    say(
        f"contrasted {len(result.gene_ids)} genes of {name_a} and {name_b} in {time.perf_counter() - started:.1f}s "
        f"(mean difference {result.difference.mean():.3f}, marks' part {result.marks_part.mean():.3f}); wrote {', '.join(str(p) for p in files_written.values())}"
    )


def _coordinates(path: Path, orientation: str, data):
    """The ``--tss`` file, read and checked before any work (a bad line stops here, exit 2)."""
    from ..data.orientation import UNKNOWN
    from ..interpret.tracks import read_coordinates

    coordinates = read_coordinates(path)
    rows = coordinates.locate(data.gene_ids)
    if not (rows >= 0).any():
        raise UsageProblem(f"{path}: holds none of the input's genes (its ids look like {coordinates.gene_ids[0]}, the input's like {data.gene_ids[0]})")
    if orientation == UNKNOWN and (coordinates.strand[rows[rows >= 0]] == "-").any():
        raise UsageProblem("--tss: the input does not say which way its bins run, so minus-strand genes cannot be placed; add --orientation genomic or transcript")
    return coordinates


def _gene_list(genes: list[str] | None, genes_file: Path | None) -> list[str] | None:
    wanted = [g.strip() for value in (genes or []) for g in value.split(",") if g.strip()]
    if genes_file is not None:
        if not genes_file.is_file():
            raise UsageProblem(f"{genes_file}: no such file of gene ids")
        wanted += [line.strip() for line in genes_file.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    return wanted or None
