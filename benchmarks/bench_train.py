"""Seconds per training epoch: (1) how the network is fed, (2) the study's networks per device and precision.

    python benchmarks/bench_train.py --feeding [--model cnn25d] [--epochs 3] [--naive-epochs 1] [--data-dir DIR]
                                     [--limit N] [--spacing MM] [--out-size PX]
    python benchmarks/bench_train.py [--device cpu|cuda|auto] [--n 216] [--epochs 3] [--models seed_simplecnn cnn25d cnn3d]
                                     [--shape 5 96 96] [--original]

--feeding trains the same network (same optimiser, loss, batches, one torch thread) on the whole cohort
(the embedded phantom unless --data-dir) fed (a) from the project's preprocessing cache, loaded once into
memory (spine_study.preprocess.preprocess_cohort), and (b) by a torch Dataset that re-reads each scan's file
and re-runs the preprocessing of that scan for every item of every epoch (spine_study.preprocess.prepare_scan
without the feature table), as the original project's loader did, with 0 and with 2 DataLoader workers. Each
variant runs in a fresh process: its peak RSS (and that of its loader workers) is its own. The table gives
seconds per epoch (median of the epochs after the first when there are several), the one-off cost of
loading the cache, and how many times slower each loader is than the cache.

Without --feeding:
Trains each network with `spine_study.train.fit` on random slabs of the study's shape (216 scans, the
training part of a 240-patient fold) and prints one row per (model, precision): parameters, seconds per
epoch (median of the epochs after the first), scans per second and the peak GPU memory. On CUDA it runs
every model twice, full precision and autocast (bf16 where supported), and checks that autocast really
ran in reduced precision. `--original` adds the original SimpleCNN at its real input, 7 x 512 x 512
(33,944,257 parameters). Nothing here is a test: it prints a table.
"""
import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
from pathlib import Path
import torch

from spine_study.models import SEED_PARAMETERS, count_parameters
from spine_study.engine import amp_dtype
from spine_study.train import RECOMMENDED, SEED_PROTOCOL, fit


def one(model: str, shape: tuple, n: int, epochs: int, device: str, amp) -> dict:
    rng = np.random.default_rng(0)
    X, y = rng.normal(0, 1, (n, *shape)).astype(np.float32), rng.normal(0.9, 0.15, n)
    base = SEED_PROTOCOL if model == "seed_simplecnn" else RECOMMENDED
    cfg = replace(base, model=model, epochs=epochs, device=device, amp=amp, early_stopping_patience=None, num_threads=None)
    if device.startswith("cuda"): torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    m, h = fit(X, y, X[:24], y[:24], cfg)
    wall = time.perf_counter() - t0
    dt = amp_dtype(cfg, torch.device(device))
    # reduced precision really used: run one forward under the same autocast and look at the output dtype
    with torch.autocast(device_type=torch.device(device).type, dtype=dt or torch.float32, enabled=dt is not None):
        out_dtype = m.net(torch.as_tensor(X[:2]).to(device)).dtype
    sec = float(h.seconds.iloc[1:].median() if len(h) > 1 else h.seconds.iloc[0])
    return {"model": model, "shape": "x".join(map(str, shape)), "params": count_parameters(m), "precision": str(dt or "fp32").replace("torch.", ""),
            "output dtype": str(out_dtype).replace("torch.", ""), "s/epoch": sec, "scans/s": n / sec, "wall s": wall,
            "peak GPU MiB": torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else float("nan")}


def feed_setup(a):
    "The cohort (first --limit scans) and the preprocessing plan (derived, or --spacing / --out-size)."
    from dataclasses import replace as dc_replace
    from spine_study.data import dataset_fingerprint, load_cohort
    from spine_study.preprocess import plan_from_fingerprint
    cohort = load_cohort(a.data_dir)
    if a.limit: cohort = dc_replace(cohort, manifest=cohort.manifest.iloc[:a.limit].reset_index(drop=True))
    return cohort, plan_from_fingerprint(dataset_fingerprint(cohort), target_spacing_mm=a.spacing, out_size=a.out_size)


def feed_cache(cohort, plan):
    "The preprocessed cohort, keyed exactly as the study's runs key it (so the default phantom reuses their cache)."
    from spine_study.preprocess import landmarks_file, preprocess_cohort
    return preprocess_cohort(cohort, cohort.data_dir, plan, landmarks=landmarks_file(cohort.data_dir))


def feed_child(kind: str, a) -> None:
    "One feeding variant in this (fresh) process; prints a JSON line."
    from torch.utils.data import DataLoader, Dataset, TensorDataset
    from spine_study.models import build_model
    from spine_study.preprocess import prepare_scan
    from spine_study.engine import make_optimizer
    from spine_study.train import make_loss
    torch.set_num_threads(1); torch.manual_seed(0)
    model, epochs, workers = a.model, a.epochs if kind == "cache" else a.naive_epochs, a.workers
    cohort, plan = feed_setup(a); m = cohort.manifest
    y = torch.as_tensor(m.BMD.to_numpy(np.float32))
    t0 = time.perf_counter()
    if kind == "cache":
        prep = feed_cache(cohort, plan)
        assert prep.cache_hit, "warm the cache first (the parent does)"
        ds = TensorDataset(torch.as_tensor(prep.X), y)
    else:
        class Reread(Dataset):   # the original's way: every item decodes and preprocesses its file again
            def __len__(self): return len(m)
            def __getitem__(self, i):
                out = prepare_scan(str(Path(cohort.data_dir) / m.path[i]), plan, scan_label=m.scan[i], features=False)
                return torch.as_tensor(out["x"]), y[i]
        ds = Reread()
    load_s = time.perf_counter() - t0
    cfg = RECOMMENDED if model != "seed_simplecnn" else SEED_PROTOCOL
    net = build_model(model, plan.n_slices, (plan.out_size, plan.out_size), cfg.dropout)
    opt, loss_fn = make_optimizer(net, cfg), make_loss(cfg, float(y.std()))
    dl = DataLoader(ds, batch_size=cfg.batch_size, shuffle=True, num_workers=workers, generator=torch.Generator().manual_seed(0))
    secs = []
    for _ in range(epochs):
        t0 = time.perf_counter(); net.train()
        for xb, yb in dl:
            loss = loss_fn(net(xb).float().squeeze(-1), (yb - y.mean()) / y.std())
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        secs.append(time.perf_counter() - t0)
    print(json.dumps(dict(n=len(ds), load_s=load_s, epoch_s=secs,
                          rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          workers_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if workers else 0.0)))  # workers end with each epoch


def feeding(a, argv: list) -> None:
    cohort, plan = feed_setup(a)
    t0 = time.perf_counter(); prep = feed_cache(cohort, plan)
    print(f"cohort {cohort.data_dir}: {len(cohort.manifest)} scans, matrices up to {int(cohort.manifest.n_rows.max())}²; cache "
          f"{'hit' if prep.cache_hit else 'built'} in {time.perf_counter() - t0:.1f} s; slabs {prep.X.shape[1:]} at "
          f"{plan.target_spacing_mm} mm; model {a.model}, batch 16, 1 torch thread", file=sys.stderr)
    rows = []
    for kind, workers in [("cache", 0), ("re-read + re-preprocess per item", 0), ("re-read + re-preprocess per item", 2)]:
        cmd = [sys.executable, __file__, *argv, "--feed-child", "cache" if kind == "cache" else "naive", "--workers", str(workers)]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        e = r["epoch_s"]; r["s"] = float(np.median(e[1:]) if len(e) > 1 else e[0])
        rows.append((kind, workers, r)); print(f"  {kind}, {workers} workers: {e}", file=sys.stderr)
    base = rows[0][2]["s"]
    print(f"\n{rows[0][2]['n']} scans per epoch (largest matrix {int(cohort.manifest.n_rows.max())}²), slab {prep.X.shape[1:]}, "
          f"model {a.model}, torch {torch.__version__}, {platform.machine()}\n")
    print("| feeding | loader workers | epochs | s / epoch | × the cache | one-off load s | peak RSS MB (main) | peak RSS MB (a worker) |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, w, r in rows:
        worker_mb = f"{r['workers_rss_mb']:.0f}" if w else "–"
        print(f"| {kind} | {w} | {len(r['epoch_s'])} | {r['s']:.2f} | {r['s'] / base:.1f} | {r['load_s']:.2f} | {r['rss_mb']:.0f} | {worker_mb} |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto"); p.add_argument("--n", type=int, default=216); p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--models", nargs="*", default=["seed_simplecnn", "cnn25d", "cnn3d"])
    p.add_argument("--shape", nargs=3, type=int, default=[5, 96, 96]); p.add_argument("--original", action="store_true")
    p.add_argument("--feeding", action="store_true"); p.add_argument("--model", default="cnn25d")
    p.add_argument("--naive-epochs", type=int, default=1); p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=None, help="--feeding: only the first N scans of the cohort")
    p.add_argument("--spacing", type=float, default=None, help="--feeding: in-plane mm (default: from the fingerprint)")
    p.add_argument("--out-size", type=int, default=None, help="--feeding: slab size in pixels (default: from the fingerprint)")
    p.add_argument("--feed-child", choices=["cache", "naive"], help=argparse.SUPPRESS)
    p.add_argument("--workers", type=int, default=0, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.feed_child: return feed_child(a.feed_child, a)
    if a.feeding: return feeding(a, sys.argv[1:])
    dev = "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    name = torch.cuda.get_device_name() if dev.startswith("cuda") else platform.processor() or platform.machine()
    print(f"device {dev} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {a.n} scans, {a.epochs} epochs")
    jobs = [(m, tuple(a.shape)) for m in a.models] + ([("seed_simplecnn", (7, 512, 512))] if a.original else [])
    rows = []
    for model, shape in jobs:
        for amp in ([False, True] if dev.startswith("cuda") else [False]):
            r = one(model, shape, a.n, a.epochs, dev, amp); rows.append(r)
            if amp: assert r["output dtype"] in ("bfloat16", "float16"), f"autocast did not reduce precision: {r}"
            if shape == (7, 512, 512): assert r["params"] == SEED_PARAMETERS, r["params"]
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v) for v in r.values()) + " |")


if __name__ == "__main__":
    main()
