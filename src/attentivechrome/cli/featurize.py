"""The ``featurize`` command: BAM / tagAlign / bigWig files and a gene annotation to model input."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._app import UsageProblem, app, check_output_file, say
from ._interrupt import nothing_written, says_what_was_kept
from ._outputs import claim_folder, record_owner


@app.command()
@says_what_was_kept(nothing_written)
def featurize(
    mark: List[str] = typer.Option(..., "--mark", help="MARK=PATH, once per mark: a sorted indexed BAM, a BED/tagAlign of reads (.gz too) or a bigWig."),
    genes: Path = typer.Option(..., "--genes", help="Genes: GTF/GFF3 (gene records), BED6 or a table with gene_id, chrom, strand, tss_0based|tss_1based."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV to write (.gz compresses), or a directory for train/valid/test.csv with --split."),
    bin_size: int = typer.Option(100, help="Bin width in bp."),
    flank: int = typer.Option(5000, help="Window reach each side of the TSS in bp (100 bins of 100 bp for 5000)."),
    orientation: str = typer.Option("stranded", help="stranded (or transcript): bins 5'->3' along the gene; genomic: increasing coordinate (the published REMC files and weights). The manifest records it."),
    expression: Optional[Path] = typer.Option(None, help="Expression table (e.g. the Roadmap RPKM matrix): labels 1 above the median; genes without a value are left out."),
    cell: Optional[str] = typer.Option(None, help="Column of the expression table to use (e.g. E003)."),
    split: str = typer.Option(
        "none",
        help="none (one CSV), contiguous (the paper's thirds; also called ratio), random (seeded) or chromosome (held-out chromosomes).",
    ),
    fractions: str = typer.Option("1,1,1", help="Relative train,valid,test sizes for contiguous/random splits."),
    seed: int = typer.Option(0, help="Seed of the random split."),
    valid_chroms: str = typer.Option("", help="Comma list of chromosomes for valid (chromosome split)."),
    test_chroms: str = typer.Option("", help="Comma list of chromosomes for test (chromosome split)."),
    count: str = typer.Option("overlap", help="overlap: reads overlapping a bin by >= 1 bp (bedtools multicov); 5prime: the read's 5' end only."),
    min_mapq: int = typer.Option(0, help="BAM: skip alignments with a lower mapping quality (multicov -q)."),
    keep_duplicates: bool = typer.Option(False, "--keep-duplicates", help="BAM: count duplicate-flagged alignments (multicov -D)."),
    keep_qcfail: bool = typer.Option(False, "--keep-qcfail", help="BAM: count QC-failed alignments (multicov -F)."),
    primary_only: bool = typer.Option(False, "--primary-only", help="BAM: skip secondary and supplementary alignments."),
    bigwig_stat: str = typer.Option("mean", help="bigWig: mean (per base over the bin) or sum."),
    feature: str = typer.Option("gene", help="GTF/GFF3 feature type of the gene records."),
    id_attribute: str = typer.Option("gene_id", help="GTF/GFF3 attribute holding the gene id."),
    biotype: Optional[str] = typer.Option(None, help="Keep only these GTF/GFF3 gene biotypes (comma list, e.g. protein_coding)."),
    any_marks: bool = typer.Option(False, "--any-marks", help="Accept marks other than the five standard ones, in the order given."),
    jobs: int = typer.Option(1, help="Mark files counted at once, one Dask task each, on a local cluster of that many one-thread workers."),
    scheduler: Optional[str] = typer.Option(None, help="Address of a running Dask scheduler to count the mark files on; its workers must read them under the same paths."),
    overwrite: bool = typer.Option(False, "--overwrite", help="With --split: write into an --out folder that holds another command's outputs (refused otherwise)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or notes."),
) -> None:
    """Count reads (or signal) in bins around every gene's TSS and write the AttentiveChrome CSV."""
    from ..featurize import featurize as run_featurize
    from ..featurize import write_featurized
    from ..data.schema import SPLITS
    from ..featurize.pipeline import MANIFEST_NAME, manifest_path

    if jobs < 1:
        raise UsageProblem(f"--jobs must be at least 1, got {jobs}")
    marks = _parse_marks(mark)
    split = {"ratio": "contiguous"}.get(split, split)  # "ratio": split by --fractions in file order
    read = (genes, *marks.values(), *([expression] if expression is not None else []))  # no output may replace one of them
    if split == "none":
        check_output_file(out, inputs=read)
        check_output_file(manifest_path(out), inputs=read)
    elif out.exists() and not out.is_dir():
        raise UsageProblem(f"{out}: exists and is not a directory; --split writes train/valid/test.csv into a directory")
    else:
        for name in (*(f"{s}.csv" for s in SPLITS), MANIFEST_NAME):
            check_output_file(out / name, inputs=read)
        claim_folder(out, "featurize", overwrite=overwrite)  # e.g. a simulated data set: its splits would be replaced
    result = run_featurize(
        marks,
        genes,
        bin_size=bin_size,
        flank=flank,
        orientation=orientation,
        count=count,
        min_mapq=min_mapq,
        keep_duplicates=keep_duplicates,
        keep_qcfail=keep_qcfail,
        primary_only=primary_only,
        bigwig_stat=bigwig_stat,
        expression=expression,
        cell=cell,
        feature=feature,
        id_attribute=id_attribute,
        biotypes=_comma_list(biotype) or None,
        standard_marks=not any_marks,
        progress=False if quiet else None,
        jobs=jobs,
        scheduler=scheduler,
    )
    written = write_featurized(
        result,
        out,
        split=split,
        fractions=_fractions(fractions),
        seed=seed,
        valid_chroms=_comma_list(valid_chroms),
        test_chroms=_comma_list(test_chroms),
    )
    if split != "none":
        record_owner(out, "featurize")
    if not quiet:
        for note in result.notes:
            say(note)
    files = ", ".join(str(p) for p in written.values())
    say(f"wrote {files}")


def _parse_marks(items: list[str]) -> dict[str, Path]:
    marks: dict[str, Path] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise UsageProblem(f"--mark {item!r}: expected MARK=PATH, e.g. --mark H3K4me3=h3k4me3.bam")
        name = name.strip()
        if name in marks:
            raise UsageProblem(f"--mark {name} given twice")
        marks[name] = Path(path.strip())
    return marks


def _comma_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _fractions(text: str) -> list[float]:
    try:
        return [float(part) for part in _comma_list(text)]
    except ValueError:
        raise UsageProblem(f"--fractions {text!r}: expected three numbers such as 1,1,1 or 0.8,0.1,0.1") from None
