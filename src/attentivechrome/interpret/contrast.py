"""Why does a gene differ between two cells? Attributions of the difference of two predictions.

Given the same genes in cell A and cell B, each as the model reads it (marks matched, normalised
per cell, each cell's own reference prior attached), :func:`contrast_maps` integrates the
model's gradients along the straight path from B's reads to A's reads, holding A's prior fixed
(integrated gradients with B's reads as the baseline). By completeness the map of a gene sums
to ``f(A's reads, A's prior) - f(B's reads, A's prior)``: the part of the difference that the
marks make. The rest, ``f(B's reads, A's prior) - f(B's reads, B's prior)``, is what the two
cells' priors contribute (each prior leaves out its own cell's column, so they differ a little).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data.dataset import HistoneData
from ..inference import predict_module
from .attribution import attribute
from .explain import ExplainOptions, OutputScale, mark_shares


@dataclass(frozen=True)
class Contrast:
    """The difference between two cells' predictions of the same genes, and the maps of the marks' part.

    Outputs are on the model's output scale: log-odds (classification) or log1p expression (or
    its deviation from the prior) once decoded.
    """

    gene_ids: np.ndarray
    marks: tuple[str, ...]
    output_a: np.ndarray  # (genes,) f(A's reads, A's prior)
    output_b: np.ndarray  # (genes,) f(B's reads, B's prior)
    marks_part: np.ndarray  # (genes,) f(A, prior A) - f(B, prior A): what the maps add up to
    prior_part: np.ndarray  # (genes,) f(B, prior A) - f(B, prior B)
    maps: np.ndarray  # (genes, marks, bins)
    delta: np.ndarray  # (genes,) completeness gap of the maps

    @property
    def difference(self) -> np.ndarray:
        return self.output_a - self.output_b

    def table(self) -> pd.DataFrame:
        """One row per gene: both outputs, the difference split into the marks' and the priors' part, and each mark's share."""
        shares = mark_shares(self.maps)
        signed = self.maps.sum(axis=2)  # (genes, marks): each mark's signed part of the difference
        frame = pd.DataFrame(
            {
                "gene_id": self.gene_ids,
                "output_a": self.output_a,
                "output_b": self.output_b,
                "difference": self.difference,
                "marks_part": self.marks_part,
                "prior_part": self.prior_part,
                "top_mark": np.asarray(self.marks)[np.argmax(np.abs(signed), axis=1)],
                "completeness_gap": self.delta,  # the map's sum minus the marks' part: the larger, the less to trust the map
            }
        )
        for i, mark in enumerate(self.marks):
            frame[f"{mark}_part"] = signed[:, i]
            frame[f"{mark}_share"] = shares[:, i]
        return frame


def contrast_maps(
    module: nn.Module,
    cell_a: HistoneData,
    cell_b: HistoneData,
    *,
    options: ExplainOptions = ExplainOptions(),
    output: OutputScale = OutputScale(),
) -> Contrast:
    """Attribute each gene's difference between cell A and cell B to its marks and bins.

    ``cell_a`` and ``cell_b`` hold the same genes in the same order, prepared as the module reads
    them (see :meth:`~attentivechrome.trained.TrainedModel.prepare`). ``output`` decodes a
    regression module's standardised outputs (:attr:`~attentivechrome.trained.TrainedModel.output_scale`).
    Of ``options`` (:class:`~attentivechrome.interpret.ExplainOptions`) the batch size, device and
    ``n_steps`` are used: the baseline of the integrated gradients is cell B, and there is no occlusion.

    Raises
    ------
    ValueError
        When the two cells list other genes, or other marks or bins.
    """
    if not np.array_equal(np.asarray(cell_a.gene_ids), np.asarray(cell_b.gene_ids)):
        raise ValueError("the two cells must list the same genes in the same order")
    if cell_a.counts.shape != cell_b.counts.shape:
        raise ValueError(f"the two cells' inputs differ in shape: {cell_a.counts.shape} and {cell_b.counts.shape}")
    device = torch.device(options.device)
    module = module.to(device)
    prior_a = cell_a.prior
    swapped = HistoneData(gene_ids=cell_b.gene_ids, counts=cell_b.counts, labels=None, marks=cell_b.marks, prior=prior_a)

    def outputs(data: HistoneData) -> np.ndarray:
        return predict_module(module, data, batch_size=256, device=device, with_attention=False).logits.astype(np.float64) * output.scale + output.offset

    out_a, out_b, out_b_prior_a = outputs(cell_a), outputs(cell_b), outputs(swapped)
    maps, deltas = [], []
    for start in range(0, cell_a.n_genes, options.batch_size):
        stop = min(start + options.batch_size, cell_a.n_genes)
        x = torch.from_numpy(np.ascontiguousarray(cell_a.counts[start:stop], dtype=np.float32)).to(device)
        baseline = torch.from_numpy(np.ascontiguousarray(cell_b.counts[start:stop], dtype=np.float32)).to(device)
        prior = None if prior_a is None else torch.from_numpy(np.ascontiguousarray(prior_a[start:stop], dtype=np.float32)).to(device)
        values, delta = attribute(module, x, "integrated_gradients", baseline=baseline, n_steps=options.n_steps, return_convergence_delta=True, prior=prior)
        maps.append(values.float().cpu().numpy().transpose(0, 2, 1) * output.scale)  # (genes, bins, marks) -> (genes, marks, bins)
        deltas.append(delta.float().cpu().numpy() * output.scale)
    n_marks, n_bins = cell_a.n_marks, cell_a.n_bins
    return Contrast(
        gene_ids=np.asarray(cell_a.gene_ids),
        marks=tuple(cell_a.marks),
        output_a=out_a,
        output_b=out_b,
        marks_part=out_a - out_b_prior_a,
        prior_part=out_b_prior_a - out_b,
        maps=np.concatenate(maps) if maps else np.zeros((0, n_marks, n_bins), np.float32),
        delta=np.concatenate(deltas) if deltas else np.zeros(0, np.float32),
    )


#: Files :func:`write_contrast` writes.
CONTRAST_TSV = "contrast.tsv"
CONTRAST_NPZ = "contrast_maps.npz"
CONTRAST_FIGURE = "contrast_profiles.png"
CONTRAST_SUMMARY = "contrast.md"


def write_contrast(contrast: Contrast, out_dir, names: tuple[str, str], *, bin_size: int = 100, orientation: str = "unknown") -> dict[str, object]:
    """Write ``contrast.tsv``, ``contrast_maps.npz``, ``contrast_profiles.png`` and ``contrast.md`` into ``out_dir`` (all or none);
    ``orientation`` (which way the bins run) names the figure's position axis."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .._io import atomic_open, atomic_path, move_files, staging_directory, write_text_atomic
    from ..data.orientation import position_label

    out_dir = Path(out_dir)
    name_a, name_b = names
    frame = contrast.table()
    with staging_directory(out_dir) as stage:
        with atomic_open(stage / CONTRAST_TSV, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, sep="\t", index=False, float_format="%.5g")
        with atomic_path(stage / CONTRAST_NPZ) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(
                    handle, gene_ids=np.asarray(contrast.gene_ids, dtype=str), marks=np.array(contrast.marks), maps=contrast.maps.astype(np.float32),
                    output_a=contrast.output_a, output_b=contrast.output_b, cells=np.array([name_a, name_b]),
                )  # fmt: skip
        # Mean map of the genes higher in A and of those lower in A: where the marks make the difference.
        higher = contrast.difference > 0
        n_bins = contrast.maps.shape[2]
        kb = (np.arange(n_bins) - n_bins / 2 + 0.5) * bin_size / 1000
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
        for ax, chosen, title in ((axes[0], higher, f"higher in {name_a}"), (axes[1], ~higher, f"lower in {name_a}")):
            for i, mark in enumerate(contrast.marks):
                if chosen.any():
                    ax.plot(kb, contrast.maps[chosen, i].mean(axis=0), label=mark)
            ax.axhline(0, color="grey", lw=0.5)
            ax.set_title(f"{int(chosen.sum())} genes {title} than in {name_b}")
            ax.set_xlabel(position_label(orientation))
        axes[0].set_ylabel("mean part of the difference")
        axes[1].legend(fontsize=8)
        fig.tight_layout()
        with atomic_path(stage / CONTRAST_FIGURE) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        plt.close(fig)
        signed = contrast.maps.sum(axis=2)
        lines = [
            f"# What makes {len(frame)} genes differ between {name_a} and {name_b}",
            "",
            f"Integrated gradients from each gene's reads in {name_b} to its reads in {name_a}, with {name_a}'s reference prior held fixed "
            "(the maps of a gene add up to the marks' part of the difference). Outputs on the model's scale (log-odds, or log1p expression).",
            "",
            f"- mean difference {name_a} - {name_b}: {contrast.difference.mean():.4f} (marks {contrast.marks_part.mean():.4f}, priors {contrast.prior_part.mean():.4f})",
            f"- completeness gap (a gene's map sum minus its marks' part): median {np.median(np.abs(contrast.delta)) if len(contrast.delta) else 0:.3g}, "
            f"largest {np.abs(contrast.delta).max() if len(contrast.delta) else 0:.3g} (per gene: column completeness_gap)",
            "",
            "| mark | mean signed part | mean absolute part | genes where it leads |",
            "|---|---|---|---|",
        ]
        for i, mark in enumerate(contrast.marks):
            lines.append(f"| {mark} | {signed[:, i].mean():.4f} | {np.abs(signed[:, i]).mean():.4f} | {int((frame['top_mark'] == mark).sum())} |")
        lines += ["", f"Per gene: `{CONTRAST_TSV}`; maps (genes x marks x bins): `{CONTRAST_NPZ}`; picture: `{CONTRAST_FIGURE}`.", ""]
        write_text_atomic(stage / CONTRAST_SUMMARY, "\n".join(lines))
        move_files(stage, out_dir)
    return {name: out_dir / name for name in (CONTRAST_TSV, CONTRAST_NPZ, CONTRAST_FIGURE, CONTRAST_SUMMARY)}
