#!/usr/bin/env python3
"""Records and tables for bench/gpu/run.sh (standard library only, Python 3.6+).

    report.py plexus RUNS.jsonl KEY SYSTEM STATUS LOG RUN_DIR [NOTE]   one Plexus run
    report.py torch  RUNS.jsonl KEY SYSTEM STATUS LOG [NOTE]           one PyTorch run
    report.py table  RUNS.jsonl INFO.tsv OUT_DIR                       results.md + results.json

Each record line holds the steady-state training throughput: samples per epoch divided by
the median time of the epochs after the first (the first is warm-up: kernel builds, CLBlast's
per-process kernel compilation, CUDA/cuBLAS start-up); with one epoch only, that epoch.
"""
import csv
import json
import os
import statistics
import sys

MODELS = {  # key -> (order, description)
    "a128": (1, "(1) 784-256-128-10 Adam, batch 128"),
    "a1024": (2, "(2) 784-256-128-10 Adam, batch 1024"),
    "w1024": (3, "(3) 784-4096-4096-10 Adam, batch 1024"),
}
SYSTEMS = [  # key -> column title
    ("plexus-cpu", "Plexus cpu"),
    ("plexus-opencl", "Plexus opencl"),
    ("plexus-opencl-tiled", "Plexus opencl gemm=tiled"),
    ("torch-cuda", "PyTorch CUDA"),
    ("torch-cpu", "PyTorch CPU"),
]
GOAL_MODEL = "w1024"


def tail(path, n=6):
    try:
        with open(path, errors="replace") as f:
            return [line.rstrip("\n") for line in f.readlines()[-n:]]
    except OSError:
        return []


def steady(samples, seconds):
    if not seconds or not samples:
        return None, None
    s = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return samples / s, s


def record_plexus(key, system, status, log, run_dir, note):
    rec = {"model": key, "system": system, "status": status, "log": os.path.basename(log), "log_path": log}
    try:
        with open(log, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:  # the run's first line: "plexus 0.1.0 | <device description>"
        if line.startswith("plexus ") and " | " in line:
            rec["device"] = line.strip().split(" | ", 1)[1]
            break
    # e.g. CLBlast failing at run time and the device switching to its own GEMM
    warnings = [line.strip() for line in lines if "warning" in line.lower()]
    if warnings:
        rec["warnings"] = warnings[:3]
    seconds = []
    try:
        with open(os.path.join(run_dir, "history.csv")) as f:
            seconds = [float(row["seconds"]) for row in csv.DictReader(f)]
        with open(os.path.join(run_dir, "metrics.json")) as f:
            metrics = json.load(f)
        rec["samples"] = metrics["split"]["train"]["samples"]
        rec["test_accuracy"] = metrics.get("test", {}).get("accuracy")
    except (OSError, ValueError, KeyError):
        if status == "ok":
            rec["status"] = "failed (no history.csv/metrics.json)"
    rec["epoch_seconds"] = seconds
    return finish(rec, note)


def record_torch(key, system, status, log, note):
    rec = {"model": key, "system": system, "status": status, "log": os.path.basename(log), "log_path": log}
    data = None
    for line in reversed(tail(log, 50)):
        if line.startswith("{"):
            try:
                data = json.loads(line)
                break
            except ValueError:
                pass
    if data:
        rec["samples"] = data["train_samples"]
        rec["epoch_seconds"] = data["epoch_seconds"]
        rec["test_accuracy"] = data.get("test_accuracy")
        dev = data.get("device_name") or "CPU, {} threads".format(data.get("intra_op_threads"))
        rec["device"] = "PyTorch {} on {}{}".format(
            data.get("version"), dev, ", CUDA " + str(data["cuda_version"]) if data.get("cuda_version") else "")
        if "tf32_matmul" in data:
            rec["tf32_matmul"] = data["tf32_matmul"]
    elif status == "ok":
        rec["status"] = "failed (no JSON line)"
    return finish(rec, note)


def finish(rec, note):
    if note:
        rec["note"] = note
    if rec["status"] != "ok" and not rec["status"].startswith("skipped"):
        last = [line for line in tail(rec.get("log_path", ""), 20) if line.strip()]
        if last:
            rec["error"] = last[-1].strip()
    rec.pop("log_path", None)
    seconds = rec.get("epoch_seconds") or []
    sps, s = steady(rec.get("samples"), seconds)
    if sps and rec["status"] == "ok":
        rec["samples_per_second"] = sps
        rec["steady_epoch_seconds"] = s
        rec["first_epoch_seconds"] = seconds[0]
        rec["epochs"] = len(seconds)
    return rec


def summary_line(rec):
    head = "  {} {}: ".format(rec["model"], rec["system"])
    if "samples_per_second" not in rec:
        return head + rec["status"] + (": " + rec["error"] if rec.get("error") else "")
    return head + "{:,.0f} samples/s ({} samples x {} epochs, median {:.3f} s/epoch after the first; first {:.2f} s)".format(
        rec["samples_per_second"], rec["samples"], rec["epochs"], rec["steady_epoch_seconds"],
        rec["first_epoch_seconds"])


def fmt(v):
    return "{:,.0f}".format(v) if v else "—"


def table(runs_path, info_path, out_dir):
    runs = []
    if os.path.exists(runs_path):
        with open(runs_path) as f:
            runs = [json.loads(line) for line in f if line.strip()]
    info = []
    if os.path.exists(info_path):
        with open(info_path, errors="replace") as f:
            info = [line.rstrip("\n").split("\t", 1) for line in f if "\t" in line]
    best = {}  # (model, system) -> the last good record
    for r in runs:
        if "samples_per_second" in r:
            best[(r["model"], r["system"])] = r
    sps = {k: v["samples_per_second"] for k, v in best.items()}

    md = ["# Plexus on a GPU: training throughput (issue 7)", ""]
    for k, v in info:
        md.append("- {}: {}".format(k, v))
    md += ["", "Training samples/s, steady state (median epoch after the first; OpenCL runs come "
               "after an uncounted warm-up run that filled the kernel cache and sized the run):", ""]
    cols = [t for _, t in SYSTEMS] + ["opencl / cpu", "tiled / cpu", "torch CUDA / opencl", "torch CUDA / tiled"]
    md.append("| model | " + " | ".join(cols) + " |")
    md.append("|---" * (len(cols) + 1) + "|")

    def ratio(a, b, suffix="×"):
        return "{:.2f}{}".format(a / b, suffix) if a and b else "—"

    for key, (_, desc) in sorted(MODELS.items(), key=lambda kv: kv[1][0]):
        g = lambda s: sps.get((key, s))
        row = [fmt(g(s)) for s, _ in SYSTEMS]
        row += [ratio(g("plexus-opencl"), g("plexus-cpu")), ratio(g("plexus-opencl-tiled"), g("plexus-cpu")),
                ratio(g("torch-cuda"), g("plexus-opencl"), ""), ratio(g("torch-cuda"), g("plexus-opencl-tiled"), "")]
        md.append("| {} | ".format(desc) + " | ".join(row) + " |")

    g = lambda s: sps.get((GOAL_MODEL, s))
    goals = {}

    def goal(name, num, den, op, bound, text):
        value = num / den if num and den else None
        ok = None if value is None else (value >= bound if op == ">=" else value <= bound)
        goals[name] = {"value": value, "goal": "{} {}".format(op, bound), "met": ok}
        unit = "×" if op == ">=" else ""
        md.append("- {}: {} (goal {} {}{}) {}".format(
            text, "{:.2f}{}".format(value, unit) if value is not None else "not measured",
            "≥" if op == ">=" else "≤", bound, unit, "" if ok is None else ("✓" if ok else "✗")))

    md += ["", "Goals, " + MODELS[GOAL_MODEL][1] + ":", ""]
    goal("opencl_over_cpu", g("plexus-opencl"), g("plexus-cpu"), ">=", 20, "Plexus opencl / Plexus cpu")
    goal("torch_cuda_over_opencl", g("torch-cuda"), g("plexus-opencl"), "<=", 2, "PyTorch CUDA / Plexus opencl")
    goal("tiled_over_cpu", g("plexus-opencl-tiled"), g("plexus-cpu"), ">=", 20,
         "Plexus opencl gemm=tiled (own kernel) / Plexus cpu")
    goal("torch_cuda_over_tiled", g("torch-cuda"), g("plexus-opencl-tiled"), "<=", 2,
         "PyTorch CUDA / Plexus opencl gemm=tiled (own kernel)")

    md += ["", "Runs:", "", "| model | system | samples/s | samples × epochs | steady s/epoch | first epoch s | status | device |",
           "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["model"], r["system"], fmt(r.get("samples_per_second")),
            "{} × {}".format(r["samples"], r["epochs"]) if "epochs" in r else "—",
            "{:.3f}".format(r["steady_epoch_seconds"]) if "steady_epoch_seconds" in r else "—",
            "{:.2f}".format(r["first_epoch_seconds"]) if "first_epoch_seconds" in r else "—",
            r["status"] + (" ({})".format(r["note"]) if r.get("note") else "")
            + (": " + r["error"] if r.get("error") else ""),
            ((r.get("device") or "") + "".join(" ⚠ " + w for w in r.get("warnings", []))).replace("|", "/")))
    text = "\n".join(md) + "\n"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"info": dict(info), "samples_per_second": {"{}/{}".format(*k): v for k, v in sps.items()},
                   "goals": goals, "runs": runs}, f, indent=1)
    sys.stdout.write(text)


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd in ("plexus", "torch"):
        runs, key, system, status, log = sys.argv[2:7]
        if cmd == "plexus":
            rec = record_plexus(key, system, status, log, sys.argv[7], sys.argv[8] if len(sys.argv) > 8 else "")
        else:
            rec = record_torch(key, system, status, log, sys.argv[7] if len(sys.argv) > 7 else "")
        with open(runs, "a") as f:
            f.write(json.dumps(rec) + "\n")
        print(summary_line(rec))
    elif cmd == "table":
        table(*sys.argv[2:5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
