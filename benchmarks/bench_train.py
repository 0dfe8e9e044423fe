"""Seconds per training epoch of the study's networks, per device and precision.

    python benchmarks/bench_train.py [--device cpu|cuda|auto] [--n 216] [--epochs 3] [--models seed_simplecnn cnn25d cnn3d]
                                     [--shape 5 96 96] [--original]

Trains each network with `spine_study.train.fit` on random slabs of the study's shape (216 scans, the
training part of a 240-patient fold) and prints one row per (model, precision): parameters, seconds per
epoch (median of the epochs after the first), scans per second and the peak GPU memory. On CUDA it runs
every model twice, full precision and autocast (bf16 where supported), and checks that autocast really
ran in reduced precision. `--original` adds the original SimpleCNN at its real input, 7 x 512 x 512
(33,944,257 parameters). Nothing here is a test: it prints a table.
"""
import argparse
import platform
import time
from dataclasses import replace

import numpy as np
import torch

from spine_study.models import SEED_PARAMETERS, count_parameters
from spine_study.train import RECOMMENDED, SEED_PROTOCOL, amp_dtype, fit


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


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto"); p.add_argument("--n", type=int, default=216); p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--models", nargs="*", default=["seed_simplecnn", "cnn25d", "cnn3d"])
    p.add_argument("--shape", nargs=3, type=int, default=[5, 96, 96]); p.add_argument("--original", action="store_true")
    a = p.parse_args()
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
