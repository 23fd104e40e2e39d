"""Throughput of attentivechrome on this machine: loading, training, inference, a full run.

Run with the package installed (no pytest)::

    python benchmarks/throughput.py            # a simulated full-size cell, about 5-10 minutes on 2 cores
    python benchmarks/throughput.py --quick    # a small smoke run

For a simulated cell of 6,601 genes per split and 100 bins it prints

- the machine: CPU, cores, load average, PyTorch threads, the fp32 matmul peak and the
  sigmoid/tanh throughput of PyTorch on this CPU;
- load time of one split (660,100 rows): an original-style per-row loader, ``read_csv``, and
  the binary cache;
- training and inference genes/s at batch 16 and 256 for three set-ups, all in this process:
  ``original``: per-mark ``nn.LSTM`` encoders in an original-style loop (a DataLoader that
  collates each batch, the default Adam, predictions copied to the host every batch, PyTorch's
  default threads); ``ref-enc``: the same ``nn.LSTM`` encoders in this package's loop; and
  ``fast``: this package's loop with the compiled encoder (what ``train`` runs);
- peak resident memory of each measurement;
- achieved FLOP/s and transcendental functions/s next to the machine's peaks;
- the time of one full run, 30 epochs with valid and test scored each epoch, as the command
  line runs it from a cold start (Python start-up, loading, kernel compilation included); the
  original's time for the same run is estimated from its measured rates unless
  ``--full-reference`` runs it;
- the ratio of each pair (fast / original).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import nn

from attentivechrome import _settings
from attentivechrome.data import read_csv, write_csv
from attentivechrome.data._cache import read_csv_cached
from attentivechrome.data.synthetic import simulate
from attentivechrome.inference import predict_tensor
from attentivechrome.models import AttentiveChrome, _fast_lstm
from attentivechrome.config import TrainConfig

SETUPS = ("original", "ref-enc", "fast")


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": _settings.usable_cores(),
        "torch": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "python": platform.python_version(),
        "kernel": _fast_lstm.kernel_status(32),
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def peaks(threads: int) -> dict:
    """fp32 matmul GFLOP/s and PyTorch sigmoid/tanh elements/s with ``threads`` threads (best of 5)."""
    with _settings.torch_threads(threads):
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        matmul = _best(lambda: torch.mm(a, b), 5)
        x = torch.randn(4_000_000)
        sig = _best(lambda: torch.sigmoid(x), 5)
        tanh = _best(lambda: torch.tanh(x), 5)
    return {"matmul_gflops": 2 * 1024**3 / matmul / 1e9, "sigmoid_gelem": x.numel() / sig / 1e9, "tanh_gelem": x.numel() / tanh / 1e9}


def _best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


# --------------------------------------------------------------------------- memory


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


@contextmanager
def peak_rss(record: dict, key: str):
    """Store the peak resident memory (MB) reached inside the block, and how much it rose there.

    ``record[key]`` is the process's peak during the block; ``record[key + "_extra"]`` the rise
    above the resident memory at its start. Scratch buffers kept from earlier measurements are
    released first, so each measurement pays for its own.
    """
    import gc

    _fast_lstm._workspace.clear()
    gc.collect()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux)
        reset = True
    except OSError:
        reset = False
    start = _status_mb("VmRSS")
    yield
    peak = _status_mb("VmHWM") if reset else None
    if peak is None:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # whole-process peak
    record[key] = peak
    record[key + "_extra"] = None if start is None or not reset else peak - start


# --------------------------------------------------------------------------- loading


def per_row_loader(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Original-style loading: one Python step per row, a dict of genes, arrays built at the end."""
    genes: dict[str, dict] = {}
    with open(path, newline="") as handle:
        for row in csv.reader(handle):
            gene = genes.setdefault(row[0], {"bins": [], "label": int(row[-1])})
            gene["bins"].append([int(float(v)) for v in row[2:7]])
    counts = np.array([g["bins"] for g in genes.values()], dtype=np.float32)
    labels = np.array([g["label"] for g in genes.values()])
    return counts, labels


def bench_loading(path: Path, cache_dir: Path, rows: int) -> dict:
    result = {"rows": rows}
    start = time.perf_counter()
    per_row_loader(path)
    result["per_row_s"] = time.perf_counter() - start
    result["read_csv_s"] = _best(lambda: read_csv(path), 3)
    read_csv_cached(path, cache_dir=cache_dir)  # writes the binary copy
    result["cached_s"] = _best(lambda: read_csv_cached(path, cache_dir=cache_dir), 3)
    return result


# --------------------------------------------------------------------------- training and inference loops


class _Genes(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"input": self.x[i], "label": self.y[i]}


def train_genes_per_s(setup: str, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    """Training genes/s of one set-up over the genes of ``x`` (one pass, after one warm-up batch)."""
    torch.manual_seed(0)
    model = AttentiveChrome(encoder="fast" if setup == "fast" else "reference")
    loss_fn = nn.BCEWithLogitsLoss()
    if setup == "original":
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
        loader = torch.utils.data.DataLoader(_Genes(x, y), batch_size=batch, shuffle=True)
        model.train()
        predictions = []

        def one_pass():
            for item in loader:
                logits = model(item["input"]).logits
                loss = loss_fn(logits, item["label"])
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                predictions.append(torch.sigmoid(logits).detach().cpu().numpy())  # per-batch host work

        model(x[:batch]).logits.sum().backward()  # warm-up
        start = time.perf_counter()
        one_pass()
        return len(x) / (time.perf_counter() - start)

    with _settings.torch_threads(1):  # what attentivechrome.training.trainer.train does
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-4, fused=True)
        model.train()
        order = torch.randperm(len(x))
        loss_sum = torch.zeros(())
        model(x[:batch]).logits.sum().backward()  # warm-up
        start = time.perf_counter()
        for b in range(0, len(x), batch):
            index = order[b : b + batch]
            loss = loss_fn(model(x[index]).logits, y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss_sum += loss.detach() * len(index)
        float(loss_sum)
        return len(x) / (time.perf_counter() - start)


def infer_genes_per_s(setup: str, x: torch.Tensor, batch: int) -> float:
    """Inference genes/s (no gradients) of one set-up over the genes of ``x``."""
    torch.manual_seed(0)
    model = AttentiveChrome(encoder="fast" if setup == "fast" else "reference").eval()

    if setup == "original":

        def run():
            with torch.no_grad():
                return [torch.sigmoid(model(x[b : b + batch]).logits).cpu().numpy() for b in range(0, len(x), batch)]

    else:

        def run():
            with _settings.torch_threads(1):
                return predict_tensor(model, x, batch_size=batch, with_attention=False)

    with torch.no_grad():
        model(x[:batch])  # warm-up
    start = time.perf_counter()
    run()
    return len(x) / (time.perf_counter() - start)


# --------------------------------------------------------------------------- FLOPs and transcendentals


def model_costs(n_bins: int = 100, marks: int = 5, bin_hidden: int = 32, mark_hidden: int = 16) -> dict:
    """Forward FLOPs and transcendental evaluations per gene (multiply-add = 2 FLOPs)."""
    lstm = lambda steps, inputs, hidden: steps * (2 * 4 * hidden * (inputs + hidden) + 10 * hidden)  # noqa: E731
    bin_level = 2 * marks * lstm(n_bins, 1, bin_hidden)
    attention = marks * n_bins * 2 * bin_hidden * 4 + marks * 2 * mark_hidden * 4
    mark_level = 2 * lstm(marks, 2 * bin_hidden, mark_hidden)
    head = 2 * 2 * mark_hidden
    transcendental = 5 * (2 * marks * n_bins * bin_hidden + 2 * marks * mark_hidden) + marks * n_bins + marks
    return {"forward_flop": bin_level + attention + mark_level + head, "forward_transcendental": transcendental}


# --------------------------------------------------------------------------- full run


def full_run(data_dir: Path, epochs: int, batch_size: int | None) -> dict:
    """Time `attentivechrome train` from a cold start: new process, empty kernel cache."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, ATTENTIVECHROME_CACHE_DIR=str(Path(tmp) / "cache"), ATTENTIVECHROME_NO_PROGRESS="1")
        args = [sys.executable, "-m", "attentivechrome", "train", str(data_dir), "--out", str(Path(tmp) / "run"), "--epochs", str(epochs), "--quiet"]
        if batch_size is not None:
            args += ["--batch-size", str(batch_size)]
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"train failed:\n{done.stderr}")
        metrics = json.loads((Path(tmp) / "run" / "metrics.json").read_text())
        # The kernel compilation alone, again into an empty cache, in a child process.
        code = "import time; from attentivechrome.models import _fast_lstm as f; t = time.perf_counter(); f._build(32); print(time.perf_counter() - t)"
        env["ATTENTIVECHROME_CACHE_DIR"] = str(Path(tmp) / "compile-only")
        compile_s = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout)
    import resource

    epoch_s = [r["seconds"] for r in metrics["history"]]
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far: the train run
    return {"seconds": seconds, "compile_s": compile_s, "epoch_s_mean": float(np.mean(epoch_s)), "test_auroc": metrics["test_auroc"], "peak_rss_mb": peak}


def reference_full_run(splits: dict, epochs: int, batch: int) -> float:
    """Run the original-style loop for ``epochs`` epochs with valid and test scored each epoch."""
    x = {k: torch.from_numpy(v.counts) for k, v in splits.items()}
    y = torch.from_numpy(splits["train"].labels.astype(np.float32))
    start = time.perf_counter()
    for _ in range(epochs):
        train_genes_per_s("original", x["train"], y, batch)
        infer_genes_per_s("original", torch.cat([x["valid"], x["test"]]), 256)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--genes", type=int, default=6601, help="Genes per split (default 6601, a REMC cell).")
    parser.add_argument("--bins", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30, help="Epochs of the full run (default 30).")
    parser.add_argument("--measure-genes", type=int, default=3200, help="Genes per training/inference measurement (default 3200).")
    parser.add_argument("--batch-size", type=int, default=None, help="Batch of the full run (default: train's default).")
    parser.add_argument("--full-reference", action="store_true", help="Run the original-style full run too instead of estimating it.")
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke test.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the raw numbers to this file.")
    args = parser.parse_args(argv)
    if args.quick:
        args.genes, args.epochs, args.measure_genes = 600, 2, 512

    report: dict = {"machine": machine(), "load_average_start": load_average()}
    m = report["machine"]
    print(f"machine      {m['cpu']}, {m['cores']} cores, torch {m['torch']} (default {m['torch_threads_default']} threads), Python {m['python']}")
    print(f"GPU          {m['gpu'] or 'none (CPU only)'}")
    print(f"encoder      {m['kernel']}")
    print(f"load average {report['load_average_start']} (1, 5, 15 min) at start")

    report["peak_1_thread"] = peaks(1)
    report["peak_all_threads"] = peaks(m["cores"])
    for label, key in (("1 thread", "peak_1_thread"), (f"{m['cores']} threads", "peak_all_threads")):
        p = report[key]
        print(f"peaks, {label:<9} fp32 matmul {p['matmul_gflops']:.0f} GFLOP/s; torch.sigmoid {p['sigmoid_gelem']:.2f} G/s; torch.tanh {p['tanh_gelem']:.2f} G/s")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, _ = simulate(3 * args.genes, args.bins, seed=0)
        data_dir = tmp / "cell"
        data_dir.mkdir()
        thirds = np.array_split(np.arange(3 * args.genes), 3)
        for name, index in zip(("train", "valid", "test"), thirds):
            write_csv(data.subset(index), data_dir / f"{name}.csv")
        splits = {name: read_csv(data_dir / f"{name}.csv") for name in ("train", "valid", "test")}

        # ---- loading
        with peak_rss(report, "mem_load_mb"):
            load = bench_loading(data_dir / "train.csv", tmp / "csv-cache", args.genes * args.bins)
        report["load"] = load
        print(f"\nload one split ({load['rows']:,} rows)")
        print(f"  original-style per-row loader {load['per_row_s']:8.2f} s  ({load['rows'] / load['per_row_s']:,.0f} rows/s)")
        print(f"  read_csv (vectorised)         {load['read_csv_s']:8.2f} s  ({load['rows'] / load['read_csv_s']:,.0f} rows/s)  ratio {load['per_row_s'] / load['read_csv_s']:.0f}x")
        print(f"  binary cache                  {load['cached_s']:8.3f} s  ratio {load['per_row_s'] / load['cached_s']:.0f}x")

        # ---- throughput
        n = min(args.measure_genes, args.genes)
        x_train = torch.from_numpy(splits["train"].counts[:n])
        y_train = torch.from_numpy(splits["train"].labels[:n].astype(np.float32))
        x_eval = torch.from_numpy(np.concatenate([splits["valid"].counts, splits["test"].counts])[:n])
        rates: dict = {}
        print(f"\ngenes/s ({n} genes per measurement; original = nn.LSTM per mark + original-style loop, ref-enc = nn.LSTM in the new loop, fast = train's path)")
        print(f"  {'':<16}" + "".join(f"{s:>10}" for s in SETUPS) + f"{'fast/orig':>11}   peak RSS MB, original / fast (+rise)")
        for kind, batch in (("train", 16), ("train", 256), ("infer", 16), ("infer", 256)):
            row = {}
            for setup in SETUPS:
                with peak_rss(report, f"mem_{kind}{batch}_{setup}_mb"):
                    if kind == "train":
                        row[setup] = train_genes_per_s(setup, x_train, y_train, batch)
                    else:
                        row[setup] = infer_genes_per_s(setup, x_eval, batch)
            rates[f"{kind}{batch}"] = row
            memory = "   " + " / ".join(
                f"{report[f'mem_{kind}{batch}_{s}_mb']:.0f} (+{report[f'mem_{kind}{batch}_{s}_mb_extra'] or 0:.0f})" for s in ("original", "fast")
            )
            print(f"  {kind + ' batch ' + str(batch):<16}" + "".join(f"{row[s]:>10.0f}" for s in SETUPS) + f"{row['fast'] / row['original']:>10.2f}x" + memory)
        report["rates"] = rates

        # ---- FLOPs
        costs = model_costs(args.bins)
        report["costs"] = costs
        peak_all = report["peak_all_threads"]
        print(f"\nwork per gene: {costs['forward_flop'] / 1e6:.2f} MFLOP forward (about 3x that to train), {costs['forward_transcendental'] / 1e3:.0f}k sigmoid/tanh/exp forward")
        for kind, batch, factor in (("train", 16, 3), ("train", 256, 3), ("infer", 256, 1)):
            rate = rates[f"{kind}{batch}"]["fast"]
            gflops = rate * factor * costs["forward_flop"] / 1e9
            gtrans = rate * (1.2 if factor == 3 else 1) * costs["forward_transcendental"] / 1e9  # the backward pass recomputes tanh(c)
            print(
                f"  fast {kind} batch {batch:<4} {gflops:6.1f} GFLOP/s = {100 * gflops / peak_all['matmul_gflops']:4.0f}% of the matmul peak; "
                f"{gtrans:5.2f} G transcendentals/s = {gtrans / peak_all['tanh_gelem']:.1f}x torch.tanh's rate"
            )

        # ---- full run
        batch = args.batch_size or TrainConfig().batch_size
        print(f"\nfull run: {args.epochs} epochs of {args.genes} genes at batch {batch}, valid + test ({2 * args.genes} genes) scored each epoch")
        full = full_run(data_dir, args.epochs, args.batch_size)
        report["full"] = full
        print(
            f"  fast, `attentivechrome train` cold start: {full['seconds']:.0f} s ({full['seconds'] / 60:.1f} min; {full['epoch_s_mean']:.1f} s per epoch; "
            f"kernel compile {full['compile_s']:.1f} s; peak RSS {full['peak_rss_mb']:.0f} MB; test AUROC {full['test_auroc']:.4f})"
        )
        orig_train = rates["train16"]["original"] if batch == 16 else rates["train256"]["original"] if batch == 256 else None
        if args.full_reference:
            seconds = reference_full_run(splits, args.epochs, batch) + load["per_row_s"] * 3
            label = "measured"
        else:
            if orig_train is None:
                orig_train = np.interp(batch, [16, 256], [rates["train16"]["original"], rates["train256"]["original"]])
            per_epoch = args.genes / orig_train + 2 * args.genes / rates["infer256"]["original"]
            seconds = args.epochs * per_epoch + 3 * load["per_row_s"]
            label = "estimated from the rates above"
        report["full"]["original_seconds"] = seconds
        report["full"]["original_label"] = label
        print(f"  original ({label}): {seconds:.0f} s ({seconds / 60:.1f} min)  ratio {seconds / full['seconds']:.1f}x")

    report["load_average_end"] = load_average()
    print(f"\nload average {report['load_average_end']} at the end")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
