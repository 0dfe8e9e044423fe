"""What grows with the cohort: preprocessing throughput per executor, training epoch time and peak memory per cohort
size, and the cost of training one network on two processes (DDP). The numbers behind the README's plan for
100,000 participants. Nothing here is a test: it prints tables.

    python benchmarks/bench_scale.py [--data-dir DIR] [--sizes 240 960 2400] [--skip-ddp] [--json out.json]

1. Preprocessing: every scan of the cohort (the embedded 240-scan phantom unless --data-dir) preprocessed into an
   empty cache (crop on the landmarks.csv centres, features and QC included, as 03_train does) by the local process
   pool (1 and 2 processes) and by a Dask LocalCluster of 1 and 2 worker processes (core.cluster_executor; the
   cluster's start is timed apart). Scans/s, CPU-seconds per scan (this process and its workers, the cluster's
   start and stop included), cache bytes per scan.
2. Training: one epoch of the recommended CNN25D (batch 16, one torch thread) on N slabs, the cohort's own slabs
   repeated up to N; each N in a fresh process, whose peak RSS is its own. Twice per N: with the slabs held in memory
   (03_train's default) and left on disk (`in_memory=False`: a .npy of N rows read a batch at a time, core.DiskRows).
3. DDP: `spine-study ddp --nproc 1` and `--nproc 2` (two gloo processes), the same 2 folds x 3 epochs: seconds per
   epoch of training (rank 0's), and the ratio.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def preprocessing(data_dir, modes) -> list:
    from spine_study.core import cluster_executor
    from spine_study.data import dataset_fingerprint, load_cohort
    from spine_study.localise import guide_landmarks
    from spine_study.preprocess import plan_from_fingerprint, preprocess_cohort
    cohort = load_cohort(data_dir, None)
    plan = plan_from_fingerprint(dataset_fingerprint(cohort))
    centres, _, _ = guide_landmarks(cohort, "auto")
    rows = []
    for label, workers, cluster in modes:
        tmp = Path(tempfile.mkdtemp(prefix="bench_scale_"))
        try:
            cpu_now = lambda: sum(getattr(resource.getrusage(w), f) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                                  for f in ("ru_utime", "ru_stime"))   # this process and its (finished) workers
            t0 = time.perf_counter(); c0 = cpu_now()
            with cluster_executor(cluster) as ex:
                t1 = time.perf_counter()
                prep = preprocess_cohort(cohort, cohort.data_dir, plan, cache_dir=tmp, workers=workers, landmarks=centres, executor=ex)
                t2 = time.perf_counter()
            cpu = cpu_now() - c0   # a LocalCluster's workers count once it has closed
            n = len(prep.table); size = sum(f.stat().st_size for f in prep.cache_dir.iterdir())
            rows.append({"executor": label, "scans": n, "start s": round(t1 - t0, 1), "preprocess s": round(t2 - t1, 1),
                         "scans/s": round(n / (t2 - t1), 2), "CPU s/scan": round(cpu / n, 3),
                         "cache KB/scan": round(size / n / 1024, 1)})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return rows


CHILD = """
import json, sys, time
from dataclasses import replace
import numpy as np
from spine_study.core import DiskRows
from spine_study.train import RECOMMENDED, fit
src, y_file, n, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
if mode == "memory":
    X = np.load(src, mmap_mode="r"); Xn = np.ascontiguousarray(X[np.resize(np.arange(len(X)), n)]); del X
else: Xn = DiskRows(src)   # a file of n rows: nothing of it in memory until a batch is read
yn = np.load(y_file)[np.resize(np.arange(int(sys.argv[5])), n)]
t0 = time.perf_counter()
_, h = fit(Xn, yn, None, None, replace(RECOMMENDED, epochs=1, early_stopping_patience=None, num_threads=1, device="cpu"))
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))   # this process's own peak (ru_maxrss would
print(json.dumps({"n": n, "epoch s": float(h.seconds.iloc[0]), "peak RSS MB": hwm / 1024,   # carry the parent's across fork + exec)
                  "slabs MB": n * Xn[0].nbytes / 2**20}))
"""


def _repeated_rows(X: np.ndarray, n: int, path: Path) -> Path:
    "A .npy of n rows: X's rows repeated (written a row at a time, never mapped)."
    from spine_study.core import write_npy_rows
    return write_npy_rows(path, (n,) + X.shape[1:], (X[i % len(X)] for i in range(n)))


def training(data_dir, sizes) -> list:
    from spine_study.train import prepare_inputs
    inp = prepare_inputs(data_dir)
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    try:
        X = np.asarray(inp.prep.X, np.float32); np.save(tmp / "X.npy", X); np.save(tmp / "y.npy", np.asarray(inp.prep.table.BMD, float))
        rows = []
        for n in sizes:
            big = _repeated_rows(X, n, tmp / f"X{n}.npy")
            for mode, src in (("memory", tmp / "X.npy"), ("disk", big)):
                p = subprocess.run([sys.executable, "-c", CHILD, str(src), str(tmp / "y.npy"), str(n), mode, str(len(X))],
                                   capture_output=True, text=True)
                if p.returncode: raise RuntimeError(p.stderr[-2000:])
                r = json.loads(p.stdout.strip().splitlines()[-1])
                rows.append({"slabs": n, "slabs held": "in memory" if mode == "memory" else "on disk (DiskRows)",
                             "epoch s": round(r["epoch s"], 2), "ms/slab": round(1000 * r["epoch s"] / n, 2),
                             "slabs MB": round(r["slabs MB"]), "peak RSS MB": round(r["peak RSS MB"])})
            big.unlink()
        return rows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ddp(data_dir) -> list:
    rows, exe = [], Path(sys.executable).parent / "spine-study"
    for nproc in (1, 2):
        out = Path(tempfile.mkdtemp(prefix="bench_ddp_")) / "out"
        args = [str(exe), "ddp", "--nproc", str(nproc), "--out", str(out), "-p", "folds", "2", "-p", "repeats", "1", "-p", "epochs", "3",
                "-p", "n_boot", "200", *(["-p", "data_dir", str(data_dir)] if data_dir else [])]
        t0 = time.perf_counter(); p = subprocess.run(args, capture_output=True, text=True)
        if p.returncode: raise RuntimeError(p.stderr[-2000:])
        m = json.loads((out / "metrics.json").read_text())
        epochs = len(pd.read_csv(out / "history.csv"))
        rows.append({"processes": nproc, "wall s": round(time.perf_counter() - t0, 1), "train s": round(m["train_seconds"], 1),
                     "s/epoch": round(m["train_seconds"] / epochs, 2), "R2 (2 folds x 3 epochs)": round(m["r2"], 3)})
        shutil.rmtree(out.parent, ignore_errors=True)
    rows[1]["x one process"] = round(rows[1]["s/epoch"] / rows[0]["s/epoch"], 2)
    return rows


def show(title, rows):
    from spine_study.core import md_table
    print(f"\n{title}\n" + md_table(pd.DataFrame(rows)), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None); ap.add_argument("--sizes", type=int, nargs="+", default=[240, 960, 2400])
    ap.add_argument("--skip-ddp", action="store_true"); ap.add_argument("--json", default=None)
    a = ap.parse_args()
    print(f"{os.cpu_count()} CPU cores; python {sys.version.split()[0]}")
    out = {"preprocessing": preprocessing(a.data_dir, [("local pool, 1 process", 1, None), ("local pool, 2 processes", 2, None),
                                                       ("LocalCluster, 1 worker", 1, "local:1"), ("LocalCluster, 2 workers", 2, "local:2")])}
    show("Preprocessing (empty cache)", out["preprocessing"])
    out["training"] = training(a.data_dir, a.sizes); show("One training epoch, CNN25D, one thread", out["training"])
    if not a.skip_ddp: out["ddp"] = ddp(a.data_dir); show("DDP (spine-study ddp), the same folds", out["ddp"])
    if a.json: Path(a.json).write_text(json.dumps(out, indent=1))
