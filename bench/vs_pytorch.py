#!/usr/bin/python3
"""Plexus against PyTorch on this CPU, side by side in one run (bench/README.md).

Trains the same models on Fashion-MNIST with both systems, alternating them REPEATS times,
and prints steady-state training samples/s, seconds per epoch, inference samples/s (batch
1024) and test accuracy after EPOCHS epochs, with the Plexus/PyTorch ratio of each
(median, min and max over the repeats); for the wide model also GFLOP/s against the sgemm
ceiling measured in the same run through the same BLAS, and against the same GEMMs back to
back through the device (the library it runs them on): both the GEMMs' own rate inside
training steps (a PLEXUS_PROFILE run of 60 steps, alternated with the ceiling) and the whole
step's (GEMM work over the steady epoch time, Adam and the elementwise ops included); then
`plexus plugins` start-up (median of 10) and peak RSS. Plexus's inference figure is whole `plexus evaluate` processes
on the 10,000 test images (the median of 5 per repeat); PyTorch's is one timed pass over the
test tensor in the process that trained.

    bench/vs_pytorch.sh [--repeats 3] [--epochs 5] [--models abcdef] [--json FILE] [--torch-threads N]
                        [--mae-seeds 10] [--busy a] [--busy-epochs 3] [--no-time-to-result]

--busy MODELS also trains those models (default a) with one competing CPU-bound process
(`yes > /dev/null`, started before and killed after each run, for both systems, alternated);
--busy '' skips it. For (a) the script also times `plexus train` with 3 epochs as a whole
process against the training time in its history.csv (time to result).

Model (d) is the CNN of bench/models/cnn.ini; for it the convolution GEMMs' achieved GFLOP/s
(from a PLEXUS_PROFILE run) are printed next to the sgemm ceiling on the same shapes.
Models (e) and (f) are the co2 forecasters of bench/models/co2_lstm.ini and co2_gru.ini
(windows of 52 weeks, 64 units, batch 64) against nn.LSTM / nn.GRU (bench/torch_lstm.py):
training and inference windows/s and the test MAE in ppm instead of accuracy; their MAE is
also compared over MAE_SEEDS seeds on both sides (one seed's MAE is mostly the seed's).

Run it through bench/vs_pytorch.sh, which installs python3-torch and builds Plexus first.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = "/usr/share/datasets/fashion-mnist"
TRAIN_SAMPLES = 60000

# name -> (experiment file in bench/models, description, batch, layer widths)
MODELS = {
    "a": ("mlp_adam.ini", "784-256-128-10 Adam, batch 128", 128, [784, 256, 128, 10]),
    "b": ("mlp_bn_dropout.ini", "(a) + batchnorm + dropout 0.3", 128, [784, 256, 128, 10]),
    "c": ("wide_mlp.ini", "784-2048-2048-10 Adam, batch 512", 512, [784, 2048, 2048, 10]),
    "d": ("cnn.ini", "CNN conv32-bn-pool-conv64-bn-pool-dense128 Adam, batch 128", 128, None),
    "e": ("co2_lstm.ini", "co2 LSTM 64 units, window 52, Adam, batch 64", 64, None),
    "f": ("co2_gru.ini", "co2 GRU 64 units, window 52, Adam, batch 64", 64, None),
}
# The sequence models: their cell for bench/torch_lstm.py, and the series every window of
# which the inference figure runs over.
SERIES = {"e": "lstm", "f": "gru"}
CO2 = ROOT / "examples" / "data" / "co2.csv"


def step_gemms(batch, widths):
    """The GEMMs of one training step of a dense MLP, as the dense layer calls them
    (row-major OP:MxNxK): forward x·W, weight gradient xᵀ·dy, input gradient dy·Wᵀ (not for
    the first layer, whose input needs no gradient — PyTorch skips it too)."""
    shapes = []
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        shapes.append(f"NN:{batch}x{n}x{k}")
        shapes.append(f"TN:{k}x{n}x{batch}")
        if i > 0:
            shapes.append(f"NT:{batch}x{k}x{n}")
    return shapes


def device_ceiling(plexus, shapes):
    """GFLOP/s of `shapes` back to back through the default cpu device's Device::gemm (the
    library it picks: OpenBLAS, or oneDNN where OpenBLAS lacks the processor's AVX-512), from
    plexus-device-gemm's "all, in sequence" row; None when it does not say."""
    out = run([str(Path(plexus).with_name("plexus-device-gemm")), "--seconds", "1", *shapes]).stdout
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] == "all, in sequence":
            return float(cells[1])
    return None


def training_gemm_rate(plexus, tmp, model, steps=60):
    """GFLOP/s of a dense model's step GEMMs inside training, from the CPU device's
    PLEXUS_PROFILE table of `steps` steps: per shape the calls after its first (the table's
    GFLOP/s' column; the first makes oneDNN's kernels and touches fresh buffers), all shapes
    together. The test set is cut to batch - 12 samples so that the evaluation's forward
    products have shapes of their own and stay out of the figure. None when a shape is missing."""
    _, _, batch, widths = MODELS[model]
    out = Path(tempfile.mkdtemp(prefix=f"gemm-profile-{model}-", dir=tmp))
    res = run([plexus, "train", ROOT / "bench" / "models" / MODELS[model][0], "--set", "train.epochs=1",
               "--set", f"data.train_limit={steps * batch}", "--set", f"data.test_limit={batch - 12}",
               "--out", out], env=dict(os.environ, PLEXUS_PROFILE="1"))
    rows = {}
    for line in res.stderr.splitlines():
        parts = line.split()
        if len(parts) == 9 and parts[0] == "gemm":  # gemm OP MxNxK calls ms share GFLOP/s first GFLOP/s'
            rows[f"{parts[1]}:{parts[2]}"] = (int(parts[3]), float(parts[4]), float(parts[7]))
    flops = seconds = 0.0
    for shape in step_gemms(batch, widths):
        if shape not in rows or rows[shape][0] < 2:
            return None
        calls, ms, first_ms = rows[shape]
        flops += gemm_flops(shape) * (calls - 1)
        seconds += (ms - first_ms) / 1e3
    return flops / seconds / 1e9


def conv_gemm_profile(plexus, tmp):
    """The convolution GEMMs of model (d) as one training epoch on 7,680 samples runs them,
    from the CPU device's PLEXUS_PROFILE table: {"NT:MxNxK": (calls, milliseconds, GFLOP/s)}.
    A convolution GEMM has the batch's output positions (a multiple of the 7x7 map count, above
    the dense layer's 3136 inputs) as one of its dimensions."""
    out = Path(tmp) / "profile"
    out.mkdir()
    res = run([plexus, "train", ROOT / "bench" / "models" / MODELS["d"][0], "--set",
               "train.epochs=1", "--set", "data.train_limit=7680", "--set", "data.test_limit=1024",
               "--out", out], env=dict(os.environ, PLEXUS_PROFILE="1"))
    rows = {}
    for line in res.stderr.splitlines():
        parts = line.split()
        if len(parts) < 7 or parts[0] not in ("gemm", "conv2d"):
            continue
        dims = [int(v) for v in parts[2].split("x")]
        if any(d % 196 == 0 and d > 3136 for d in dims):
            prefix = "conv2d " if parts[0] == "conv2d" else ""
            rows[f"{prefix}{parts[1]}:{parts[2]}"] = (int(parts[3]), float(parts[4]), float(parts[6]))
    return rows


def equivalent_gemms(row):
    """The GEMM shapes a profile row stands for: itself, or for a fused convolution (the cpu
    device's oneDNN path, named "conv2d PASS:MxNxK") the im2col GEMMs conv2d runs instead:
    forward W·patchesᵀ, backward dW = cf·patches and d(patches) = cfᵀ·W."""
    if not row.startswith("conv2d "):
        return [row]
    pass_, dims = row[len("conv2d "):].split(":")
    m, n, k = dims.split("x")
    return {"forward": [f"NT:{m}x{n}x{k}"], "backward": [f"NN:{m}x{k}x{n}", f"TN:{n}x{k}x{m}"],
            "backward_weights": [f"NN:{m}x{k}x{n}"], "backward_data": [f"TN:{n}x{k}x{m}"]}[pass_]


def print_conv_gemms(rows, ceiling):
    """Achieved GFLOP/s of each convolution GEMM in training against the sgemm ceiling on the
    same shape (goal: 60 % or more), and all of them together."""
    print("  convolution GEMMs in training (PLEXUS_PROFILE, one epoch on 7,680 samples):")
    alone = {c["shape"]: c["gflops"] for c in ceiling["shapes"]}
    flops = seconds = ceiling_seconds = 0.0
    for shape, (calls, ms, gflops) in rows.items():
        gemms = equivalent_gemms(shape)
        f = sum(gemm_flops(g) for g in gemms) * calls
        at_ceiling = sum(gemm_flops(g) / (alone[g] * 1e9) for g in gemms) * calls
        flops, seconds, ceiling_seconds = flops + f, seconds + ms / 1e3, ceiling_seconds + at_ceiling
        print(f"    {shape:32} {calls:6} calls {ms:9.1f} ms {gflops:7.1f} GFLOP/s; ceiling "
              f"{f / at_ceiling / 1e9:6.1f} GFLOP/s: {100 * at_ceiling / (ms / 1e3):4.0f} %")
    if seconds > 0:
        print(f"    {'all':32} {flops / seconds / 1e9:36.1f} GFLOP/s; ceiling "
              f"{flops / ceiling_seconds / 1e9:6.1f} GFLOP/s: {100 * ceiling_seconds / seconds:4.0f} %")


def mae_of_plexus(plexus, model, epochs, out, seed):
    ini = ROOT / "bench" / "models" / MODELS[model][0]
    run([plexus, "train", ini, "--set", f"train.epochs={epochs}", "--seed", str(seed), "--out", out])
    run_dir = next(p for p in Path(out).iterdir() if p.is_dir())
    return json.loads((run_dir / "metrics.json").read_text())["test"]["mae"]


def print_mae_sweep(sweep, epochs):
    """Test MAE over the same seeds on both sides, with a two-sided Mann-Whitney U test."""
    px, pt = sweep["plexus"], sweep["pytorch"]
    line = (f"  test MAE over {len(px)} seeds ({epochs} epochs): Plexus median {statistics.median(px):.4f} "
            f"mean {statistics.fmean(px):.4f} [{min(px):.4f}, {max(px):.4f}]; PyTorch median "
            f"{statistics.median(pt):.4f} mean {statistics.fmean(pt):.4f} [{min(pt):.4f}, {max(pt):.4f}]")
    try:
        from scipy.stats import mannwhitneyu
        p = mannwhitneyu(px, pt, alternative="two-sided").pvalue
        verdict = ("equal within seed noise" if p >= 0.05 else
                   "Plexus better" if statistics.median(px) < statistics.median(pt) else "Plexus worse")
        line += f"; Mann-Whitney p = {p:.2f}: {verdict}"
    except ImportError:
        pass
    print(line)


def gemm_flops(shape):
    m, n, k = (int(v) for v in shape.split(":")[1].split("x"))
    return 2.0 * m * n * k


def run(cmd, **kw):
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        sys.exit(f"vs_pytorch: {' '.join(map(str, cmd))} failed ({result.returncode}):\n"
                 f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def peak_rss_mb(stderr):
    for line in stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) / 1024.0
    return float("nan")


def cpu_seconds(stderr):
    """User plus system CPU seconds from GNU time -v."""
    total = 0.0
    for line in stderr.splitlines():
        if "User time (seconds)" in line or "System time (seconds)" in line:
            total += float(line.split(":")[1])
    return total


class BusyProcess:
    """One competing CPU-bound process (`yes > /dev/null`) for the length of a with block."""

    def __enter__(self):
        self.proc = subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
        time.sleep(0.3)  # running before the measured process starts
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def time_to_result(plexus, model, epochs, out):
    """Whole-process wall seconds of `plexus train` (start-up, data, training, evaluation,
    report) and the training seconds its history.csv records."""
    ini = ROOT / "bench" / "models" / MODELS[model][0]
    t0 = time.perf_counter()
    run([plexus, "train", ini, "--set", f"train.epochs={epochs}", "--out", out])
    wall = time.perf_counter() - t0
    run_dir = next(p for p in Path(out).iterdir() if p.is_dir())
    with open(run_dir / "history.csv") as f:
        training = sum(float(row["seconds"]) for row in csv.DictReader(f))
    return {"wall_seconds": wall, "training_seconds": training, "ratio": wall / training}


EVALUATE_RUNS = 5  # `plexus evaluate` processes per repeat (their median is the figure)


def summarize(epoch_seconds, samples=TRAIN_SAMPLES):
    """Steady state excludes the first epoch (warm-up: page faults, thread pools, caches)."""
    steady = statistics.median(epoch_seconds[1:]) if len(epoch_seconds) > 1 else epoch_seconds[0]
    return {"train_samples_per_second": samples / steady,
            "seconds_per_epoch": statistics.fmean(epoch_seconds),
            "steady_epoch_seconds": steady}


def run_plexus(plexus, model, epochs, out, seed):
    ini = ROOT / "bench" / "models" / MODELS[model][0]
    res = run(["/usr/bin/time", "-v", plexus, "train", ini, "--set", f"train.epochs={epochs}",
               "--seed", str(seed), "--out", out])
    run_dir = next(p for p in Path(out).iterdir() if p.is_dir())  # one run per folder
    with open(run_dir / "history.csv") as f:
        epoch_seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if model in SERIES:  # inference: the layers' forward passes at batch 64 (recurrent_infer.cpp)
        infer = json.loads(run([str(Path(plexus).with_name("plexus-bench-recurrent")), "--seconds",
                                "3", f"{SERIES[model]} units=64"]).stdout)
        return {**summarize(epoch_seconds, metrics["split"]["train"]["samples"]),
                "epoch_seconds": epoch_seconds, "test_accuracy": metrics["test"]["mae"],
                "inference_samples_per_second": infer["windows_per_second"],
                "peak_rss_mb": peak_rss_mb(res.stderr)}
    # Each `plexus evaluate` is a whole process timing one pass over the 10,000 test images
    # (30-40 ms, so one run says as much about the moment as about the code): the median of
    # EVALUATE_RUNS processes.
    evals = [json.loads(run([plexus, "evaluate", run_dir, "--data", f"idx:{DATA}/t10k",
                             "--batch-size", "1024", "--json"]).stdout)["samples_per_second"]
             for _ in range(EVALUATE_RUNS)]
    return {**summarize(epoch_seconds), "epoch_seconds": epoch_seconds,
            "test_accuracy": metrics["test"]["accuracy"],
            "inference_samples_per_second": statistics.median(evals),
            "inference_runs": evals,
            "peak_rss_mb": peak_rss_mb(res.stderr), "cpu_seconds": cpu_seconds(res.stderr)}


def run_torch(model, epochs, threads, seed, limit=None):
    if model in SERIES:  # test_accuracy holds the test MAE for these
        cmd = [ROOT / "bench" / "torch_lstm.py", SERIES[model], str(epochs), str(threads), str(seed), CO2]
    else:
        cmd = [ROOT / "bench" / "torch_mlp.py", model, str(epochs), str(threads), str(seed), DATA] + (
            [str(limit)] if limit else [])
    res = run(["/usr/bin/time", "-v", "/usr/bin/python3", *cmd])
    d = json.loads(res.stdout.strip().splitlines()[-1])
    return {**summarize(d["epoch_seconds"], d["train_samples"]), "epoch_seconds": d["epoch_seconds"],
            "test_accuracy": d["test_mae"] if model in SERIES else d["test_accuracy"],
            "inference_samples_per_second": d["inference_samples_per_second"],
            "peak_rss_mb": peak_rss_mb(res.stderr), "cpu_seconds": cpu_seconds(res.stderr),
            "version": d["version"]}


def spread(values, fmt):
    return f"{fmt(statistics.median(values))} ({fmt(min(values))}–{fmt(max(values))})"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--models", default="abcdef")
    ap.add_argument("--plexus", default=str(ROOT / "build" / "release" / "bin" / "plexus"))
    ap.add_argument("--json", help="also write every measurement to this file")
    ap.add_argument("--mae-seeds", type=int, default=10,
                    help="series models (e, f): compare the test MAE over this many seeds (0: skip)")
    ap.add_argument("--torch-threads", type=int, default=0,
                    help="PyTorch's intra-op threads; 0 (default) times 1 and 2 and keeps the faster")
    ap.add_argument("--busy", default="a",
                    help="models also trained beside one busy process (yes > /dev/null); '' for none")
    ap.add_argument("--busy-epochs", type=int, default=3, help="epochs of the busy-machine runs")
    ap.add_argument("--no-time-to-result", action="store_true",
                    help="skip timing `plexus train` of (a) with 3 epochs as a whole process")
    args = ap.parse_args()
    plexus = args.plexus
    ceiling_tool = str(Path(plexus).with_name("plexus-sgemm-ceiling"))
    models = [m for m in args.models if m in MODELS]

    info = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": os.uname().nodename,
            "cpus": os.cpu_count(), "repeats": args.repeats, "epochs": args.epochs}
    print(f"vs_pytorch: {args.repeats} repeats, {args.epochs} epochs, models {''.join(models)}, "
          f"{os.cpu_count()} CPUs", flush=True)

    # PyTorch's fastest thread setting, per model: 1 or 2 intra-op threads, timed on the
    # second of two epochs over the first 15,360 samples, alternated twice.
    threads = {}
    for m in models:
        if args.torch_threads > 0:
            threads[m] = args.torch_threads
            continue
        speed = {1: [], 2: []}
        for t in (1, 2, 2, 1):
            speed[t].append(run_torch(m, 2, t, 1, limit=15360)["train_samples_per_second"])
        best = {t: max(v) for t, v in speed.items()}
        threads[m] = max(best, key=best.get)
        print(f"  pytorch threads for ({m}): 1 → {best[1]:,.0f} samples/s, 2 → {best[2]:,.0f} samples/s; "
              f"using {threads[m]}", flush=True)

    results = {m: {"plexus": [], "pytorch": []} for m in models}
    busy_models = [m for m in models if m in args.busy and m not in SERIES]
    busy = {m: {"plexus": [], "pytorch": []} for m in busy_models}
    ttr = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for m in models:
                order = ("plexus", "pytorch") if r % 2 == 0 else ("pytorch", "plexus")
                def run_one(system, epochs, tag):
                    if system == "pytorch":
                        return run_torch(m, epochs, threads[m], 1 + r)
                    out = Path(tmp) / f"{m}-{r}{tag}"
                    out.mkdir()
                    return run_plexus(plexus, m, epochs, out, 1 + r)
                for system in order:
                    res = run_one(system, args.epochs, "")
                    results[m][system].append(res)
                    print(f"  repeat {r + 1} ({m}) {system}: {res['train_samples_per_second']:,.0f} samples/s, "
                          f"test accuracy {res['test_accuracy']:.4f}", flush=True)
                for system in order if m in busy else ():
                    with BusyProcess():
                        res = run_one(system, args.busy_epochs, "-busy")
                    busy[m][system].append(res)
                    print(f"  repeat {r + 1} ({m}) {system} beside a busy process: "
                          f"{res['train_samples_per_second']:,.0f} samples/s", flush=True)
            if "a" in models and not args.no_time_to_result:
                out = Path(tmp) / f"ttr-{r}"
                out.mkdir()
                ttr.append(time_to_result(plexus, "a", 3, out))
                print(f"  repeat {r + 1} (a) time to result: {ttr[-1]['wall_seconds']:.2f} s for "
                      f"{ttr[-1]['training_seconds']:.2f} s of training", flush=True)

    ceiling = None
    if "c" in models:
        _, _, batch, widths = MODELS["c"]
        ceiling = json.loads(run([ceiling_tool, *step_gemms(batch, widths)]).stdout)
        # The step's GEMMs inside training against the same GEMMs back to back, alternated
        # (the host's speed drifts between minutes), one pair per repeat.
        pairs = []
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeats):
                pairs.append((training_gemm_rate(plexus, tmp, "c"),
                              device_ceiling(plexus, step_gemms(batch, widths))))
        ceiling["device_sequence_gflops"] = statistics.median(d for _, d in pairs if d) if any(
            d for _, d in pairs) else None
        ceiling["in_training"] = [(t, d) for t, d in pairs if t and d]
    conv_rows, conv_ceiling = {}, None
    if "d" in models:
        with tempfile.TemporaryDirectory() as tmp:
            conv_rows = conv_gemm_profile(plexus, tmp)
        if conv_rows:
            shapes = sorted({g for row in conv_rows for g in equivalent_gemms(row)})
            conv_ceiling = json.loads(run([ceiling_tool, *shapes]).stdout)

    # One seed's MAE is noise (PyTorch's spread over seeds is ~0.02 ppm): the series models'
    # accuracy is compared over --mae-seeds seeds each, the same seeds on both sides.
    mae_sweep = {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in (m for m in models if m in SERIES and args.mae_seeds > 0):
            mae_sweep[m] = {"plexus": [], "pytorch": []}
            for seed in range(1, args.mae_seeds + 1):
                out = Path(tmp) / f"{m}-seed{seed}"
                out.mkdir()
                mae_sweep[m]["plexus"].append(mae_of_plexus(plexus, m, args.epochs, out, seed))
                mae_sweep[m]["pytorch"].append(run_torch(m, args.epochs, threads[m], seed)["test_accuracy"])

    startup = []
    for _ in range(10):
        t0 = time.perf_counter()
        run([plexus, "plugins"])
        startup.append(time.perf_counter() - t0)

    # (label, key, format, compared as a difference in points rather than a ratio)
    rows = [("training samples/s", "train_samples_per_second", lambda v: f"{v:,.0f}", False),
            ("seconds per epoch", "seconds_per_epoch", lambda v: f"{v:.2f}", False),
            ("inference samples/s (batch 1024)", "inference_samples_per_second", lambda v: f"{v:,.0f}", False),
            (f"test accuracy after {args.epochs} epochs", "test_accuracy", lambda v: f"{100 * v:.2f} %", True),
            ("peak RSS (MB)", "peak_rss_mb", lambda v: f"{v:.0f}", False),
            ("CPU seconds (user+sys)", "cpu_seconds", lambda v: f"{v:.1f}", False)]
    series_rows = [("training windows/s", "train_samples_per_second", lambda v: f"{v:,.0f}", False),
                   ("seconds per epoch", "seconds_per_epoch", lambda v: f"{v:.2f}", False),
                   ("inference windows/s (batch 64)", "inference_samples_per_second", lambda v: f"{v:,.0f}", False),
                   (f"test MAE (ppm) after {args.epochs} epochs", "test_accuracy", lambda v: f"{v:.3f}", False),
                   ("peak RSS (MB)", "peak_rss_mb", lambda v: f"{v:.0f}", False)]
    print()
    for m in models:
        _, desc, batch, widths = MODELS[m]
        px, pt = results[m]["plexus"], results[m]["pytorch"]
        print(f"({m}) {desc} — PyTorch {pt[0]['version']} with {threads[m]} thread(s)")
        print(f"  {'':34} {'Plexus':>26} {'PyTorch':>26} {'Plexus/PyTorch':>24}")
        for label, key, fmt, as_points in series_rows if m in SERIES else rows:
            a = [x[key] for x in px]
            b = [x[key] for x in pt]
            if as_points:
                ratio = spread([100 * (x - y) for x, y in zip(a, b)], lambda v: f"{v:+.2f} pt")
            else:
                ratio = spread([x / y for x, y in zip(a, b)], lambda v: f"{v:.2f}×")
            print(f"  {label:34} {spread(a, fmt):>26} {spread(b, fmt):>26} {ratio:>24}")
        if m in busy:
            a = [x["train_samples_per_second"] for x in busy[m]["plexus"]]
            b = [x["train_samples_per_second"] for x in busy[m]["pytorch"]]
            ratio = spread([x / y for x, y in zip(a, b)], lambda v: f"{v:.2f}×")
            fmt = lambda v: f"{v:,.0f}"
            print(f"  {'training samples/s, 1 busy process':34} {spread(a, fmt):>26} {spread(b, fmt):>26} "
                  f"{ratio:>24}" + ("  goal ≥ 1.5×" if m == "a" else ""))
            cpu = [[x["cpu_seconds"] for x in busy[m][s]] for s in ("plexus", "pytorch")]
            print(f"  {'CPU seconds (busy runs, user+sys)':34} {spread(cpu[0], lambda v: f'{v:.1f}'):>26} "
                  f"{spread(cpu[1], lambda v: f'{v:.1f}'):>26}")
        if m == "a" and ttr:
            w, t = [x["wall_seconds"] for x in ttr], [x["training_seconds"] for x in ttr]
            print(f"  {'time to result, 3 epochs: wall s':34} {spread(w, lambda v: f'{v:.2f}'):>26} "
                  f"{'training ' + spread(t, lambda v: f'{v:.2f}'):>26} "
                  f"{spread([x['ratio'] for x in ttr], lambda v: f'{v:.2f}×'):>24}  goal ≤ 1.15×")
        if m == "c" and ceiling:
            step_flops = sum(gemm_flops(s) for s in step_gemms(batch, widths))
            steps = TRAIN_SAMPLES / batch
            for system, runs in (("Plexus", px), ("PyTorch", pt)):
                g = [step_flops * steps / x["steady_epoch_seconds"] / 1e9 for x in runs]
                print(f"  {system + ' GEMM GFLOP/s':34} {spread(g, lambda v: f'{v:.0f}'):>26} "
                      f"{'of sgemm ceiling':>26} "
                      f"{spread([x / ceiling['sequence_gflops'] for x in g], lambda v: f'{100 * v:.0f} %'):>24}"
                      + ("  goal ≥ 95 %" if system == "Plexus" else ""))
            print(f"  sgemm ceiling (this step's GEMMs back to back, {ceiling['threads']} threads): "
                  f"{ceiling['sequence_gflops']:.0f} GFLOP/s; 4096² square: {ceiling['square_gflops']:.0f} GFLOP/s")
            dev = ceiling.get("device_sequence_gflops")
            if dev:  # the library the device runs them on (oneDNN where OpenBLAS lacks AVX-512)
                print(f"  device ceiling: this step's GEMMs back to back through Device::gemm "
                      f"(plexus-device-gemm, default cpu device): {dev:.0f} GFLOP/s")
                pairs = ceiling.get("in_training", [])
                if pairs:
                    fmt = lambda v: f"{v:.0f}"
                    print(f"  {'GEMMs inside training steps':34} {spread([t for t, _ in pairs], fmt):>26} "
                          f"{'of device ceiling':>26} "
                          f"{spread([t / d for t, d in pairs], lambda v: f'{100 * v:.0f} %'):>24}  goal ≥ 95 %")
                    print("    (PLEXUS_PROFILE, 60 steps, each shape's calls after its first, against the "
                          "ceiling measured right after)")
                g = [step_flops * steps / x["steady_epoch_seconds"] / 1e9 for x in px]
                print(f"  {'whole step: GEMM work / step time':34} {spread(g, lambda v: f'{v:.0f}'):>26} "
                      f"{'of device ceiling':>26} {spread([x / dev for x in g], lambda v: f'{100 * v:.0f} %'):>24}")
                print("    (the step's time includes Adam's update and the elementwise ops between "
                      "the GEMMs: see bench/README.md)")
        if m == "d" and conv_ceiling:
            print_conv_gemms(conv_rows, conv_ceiling)
        if m in mae_sweep:
            print_mae_sweep(mae_sweep[m], args.epochs)
        print()
    print(f"plexus plugins start-up, median of 10: {1000 * statistics.median(startup):.0f} ms "
          f"(min {1000 * min(startup):.0f}, max {1000 * max(startup):.0f})")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "threads": threads, "results": results,
                                               "ceiling": ceiling, "conv_gemms": conv_rows,
                                               "conv_ceiling": conv_ceiling, "mae_seeds": mae_sweep,
                                               "startup_seconds": startup, "busy": busy,
                                               "time_to_result": ttr}, indent=1))


if __name__ == "__main__":
    main()
