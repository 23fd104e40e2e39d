"""Benchmark of ``featurize`` on a genome-wide BAM (not a test; run it by hand).

Builds a synthetic hg19-sized genome (chromosome lengths of GRCh37), ``--genes`` genes with
random positions and strands, and a coordinate-sorted, indexed BAM of ``--reads`` 36-bp
reads: ``--promoter-fraction`` of them drawn near the TSSs (normal, sd 2 kb, as a ChIP-seq
mark enriched at promoters) and the rest uniform over the genome. Then times
:func:`attentivechrome.featurize.featurize` with that BAM as one mark and as all five marks.

Usage (on a shared machine, be nice)::

    nice -n 10 python benchmarks/featurize.py --reads 20000000 --genes 20000 --workdir /tmp/featurize-bench

The BAM is kept in ``--workdir`` and reused when it exists with the same parameters.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

import numpy as np

#: GRCh37 chromosome lengths (chr1..22, X, Y).
HG19 = {
    "chr1": 249250621, "chr2": 243199373, "chr3": 198022430, "chr4": 191154276, "chr5": 180915260,
    "chr6": 171115067, "chr7": 159138663, "chr8": 146364022, "chr9": 141213431, "chr10": 135534747,
    "chr11": 135006516, "chr12": 133851895, "chr13": 115169878, "chr14": 107349540, "chr15": 102531392,
    "chr16": 90354753, "chr17": 81195210, "chr18": 78077248, "chr19": 59128983, "chr20": 63025520,
    "chr21": 48129895, "chr22": 51304566, "chrX": 155270560, "chrY": 59373566,
}  # fmt: skip
READ_LENGTH = 36


def make_inputs(workdir: Path, n_reads: int, n_genes: int, promoter_fraction: float, seed: int) -> tuple[Path, Path, dict]:
    """Write genes.gtf and reads.bam (+ .bai) into ``workdir``; return their paths and timings."""
    import pysam

    workdir.mkdir(parents=True, exist_ok=True)
    tag = f"r{n_reads}_g{n_genes}_p{promoter_fraction}_s{seed}"
    bam_path, gtf_path = workdir / f"reads_{tag}.bam", workdir / f"genes_{tag}.gtf"
    timings: dict[str, float] = {}
    rng = np.random.default_rng(seed)
    names = list(HG19)
    lengths = np.array([HG19[c] for c in names], dtype=np.int64)
    weights = lengths / lengths.sum()

    gene_chrom = rng.choice(len(names), size=n_genes, p=weights)
    gene_tss = (rng.random(n_genes) * (lengths[gene_chrom] - 20_000)).astype(np.int64) + 10_000
    gene_strand = rng.choice(np.array(["+", "-"]), size=n_genes)
    if not gtf_path.exists():
        with open(gtf_path, "w") as handle:
            for i in range(n_genes):
                tss1 = int(gene_tss[i]) + 1  # 1-based
                start, end = (tss1, tss1 + 5000) if gene_strand[i] == "+" else (tss1 - 5000, tss1)
                handle.write(f'{names[gene_chrom[i]]}\tbench\tgene\t{start}\t{end}\t.\t{gene_strand[i]}\t.\tgene_id "G{i:05d}";\n')

    if bam_path.exists() and Path(str(bam_path) + ".bai").exists():
        return bam_path, gtf_path, {"reused": True}
    started = time.perf_counter()
    n_promoter = int(n_reads * promoter_fraction)
    near = rng.integers(0, n_genes, n_promoter)
    chrom = np.concatenate([gene_chrom[near], rng.choice(len(names), size=n_reads - n_promoter, p=weights)])
    start = np.concatenate(
        [
            gene_tss[near] + np.round(rng.normal(0, 2000, n_promoter)).astype(np.int64),
            (rng.random(n_reads - n_promoter) * lengths[chrom[n_promoter:]]).astype(np.int64),
        ]
    )
    start = np.clip(start, 0, lengths[chrom] - READ_LENGTH)
    reverse = rng.random(n_reads) < 0.5
    mapq = rng.integers(0, 61, n_reads)
    order = np.lexsort((start, chrom))
    chrom, start, reverse, mapq = chrom[order], start[order], reverse[order], mapq[order]
    timings["simulate_s"] = time.perf_counter() - started

    started = time.perf_counter()
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": int(HG19[c])} for c in names]}
    tmp = bam_path.with_suffix(".tmp.bam")
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as out:
        read = pysam.AlignedSegment(out.header)
        read.query_sequence = "A" * READ_LENGTH
        read.cigarstring = f"{READ_LENGTH}M"
        for i, (c, s, r, q) in enumerate(zip(chrom.tolist(), start.tolist(), reverse.tolist(), mapq.tolist())):
            read.query_name = f"r{i}"
            read.reference_id = c
            read.reference_start = s
            read.flag = 16 if r else 0
            read.mapping_quality = q
            out.write(read)
    os.replace(tmp, bam_path)
    timings["write_bam_s"] = time.perf_counter() - started
    started = time.perf_counter()
    pysam.index(str(bam_path))
    timings["index_s"] = time.perf_counter() - started
    return bam_path, gtf_path, timings


def make_tagalign(workdir: Path, bam: Path, n_reads: int) -> tuple[Path, float]:
    """The first ``n_reads`` reads of every chromosome share of ``bam``, as a gzipped tagAlign (shuffled order)."""
    import gzip

    import pandas as pd
    import pysam

    path = workdir / f"{bam.stem}_{n_reads}.tagAlign.gz"
    if path.exists():
        return path, 0.0
    started = time.perf_counter()
    with pysam.AlignmentFile(str(bam)) as handle:
        total = handle.mapped
        keep_every = max(1, total // n_reads)
        rows = {"chrom": [], "start": [], "end": [], "strand": []}
        for i, read in enumerate(handle.fetch(until_eof=True)):
            if i % keep_every:
                continue
            rows["chrom"].append(read.reference_name)
            rows["start"].append(read.reference_start)
            rows["end"].append(read.reference_end)
            rows["strand"].append("-" if read.is_reverse else "+")
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)
    frame.insert(3, "name", "N")
    frame.insert(4, "score", 1000)
    with gzip.open(path, "wt", compresslevel=6) as out:
        frame.to_csv(out, sep="\t", header=False, index=False)
    return path, round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=20_000_000)
    parser.add_argument("--genes", type=int, default=20_000)
    parser.add_argument("--promoter-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/attentivechrome-featurize-bench"))
    parser.add_argument("--five-marks", action="store_true", help="Also time all five marks (the same BAM five times).")
    parser.add_argument("--tagalign-reads", type=int, default=0, help="Also time a gzipped tagAlign of about this many reads (sampled from the BAM).")
    args = parser.parse_args()

    from attentivechrome.data.schema import MARKS
    from attentivechrome.featurize import featurize

    bam, gtf, build = make_inputs(args.workdir, args.reads, args.genes, args.promoter_fraction, args.seed)
    result = {"reads": args.reads, "genes": args.genes, "promoter_fraction": args.promoter_fraction, "bam_bytes": bam.stat().st_size, "build": build}

    started, cpu = time.perf_counter(), time.process_time()
    one = featurize({"H3K4me3": bam}, gtf, standard_marks=False, progress=False)
    result["one_mark_s"] = round(time.perf_counter() - started, 2)
    result["one_mark_cpu_s"] = round(time.process_time() - cpu, 2)
    stats = one.report["inputs"]["marks"]["H3K4me3"]["reads"]
    result["alignments_read"] = stats["alignments_in_windows"]
    result["counted"] = stats["counted"]
    result["genes_out"] = one.data.n_genes

    if args.tagalign_reads:
        tag, seconds = make_tagalign(args.workdir, bam, args.tagalign_reads)
        result["tagalign"] = {"reads": args.tagalign_reads, "bytes": tag.stat().st_size, "write_s": seconds}
        started, cpu = time.perf_counter(), time.process_time()
        run = featurize({"H3K4me3": tag}, gtf, standard_marks=False, progress=False)
        result["tagalign"]["one_mark_s"] = round(time.perf_counter() - started, 2)
        result["tagalign"]["one_mark_cpu_s"] = round(time.process_time() - cpu, 2)
        result["tagalign"]["reads_counted"] = run.report["inputs"]["marks"]["H3K4me3"]["reads"]["reads"]

    if args.five_marks:
        started, cpu = time.perf_counter(), time.process_time()
        featurize({m: bam for m in MARKS}, gtf, progress=False)
        result["five_marks_s"] = round(time.perf_counter() - started, 2)
        result["five_marks_cpu_s"] = round(time.process_time() - cpu, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
