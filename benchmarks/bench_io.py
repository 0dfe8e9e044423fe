"""Read benchmark: the project's readers against a bare nibabel / pydicom loop over the same files.

    .venv/bin/python benchmarks/bench_io.py [--n 240] [--size full] [--repeats 3]

Generates (once, cached under data/bench/) the phantom at real matrix sizes, then reads every scan of each
format with (a) the bare library loop, the floor: nibabel get_fdata(float32) / pydicom dcmread().pixel_array
stacked in file order, no sorting or checks; (b) spine_study.readers (find_series + read_scan: grouping by
SeriesInstanceUID, position sort, rescale, canonical orientation); (c) spine_study.cohort.build_cohort (all
of (b) plus the sheet and every validation). Each measurement runs in a fresh process, so its peak RSS is
its own; repeats are interleaved so machine load hits all alike. Prints one table.
"""
import argparse, glob, json, os, resource, subprocess, sys, time
from pathlib import Path

import numpy as np


def child(kind, fmt, root):
    import nibabel as nib, pydicom
    from spine_study.cohort import build_cohort
    from spine_study.readers import find_series, read_scan
    d = Path(root) / fmt
    t0 = time.perf_counter()
    if kind == "bare" and fmt == "nifti":
        n = sum(nib.load(f).get_fdata(dtype=np.float32).size > 0 for f in sorted(glob.glob(f"{d}/*.nii.gz")))
    elif kind == "bare":
        n = 0
        for s in sorted(p for p in d.iterdir() if p.is_dir()):
            np.stack([pydicom.dcmread(f).pixel_array for f in sorted(s.iterdir())]).astype(np.float32); n += 1
    elif kind == "readers":
        n = sum(read_scan(e).array.size > 0 for e in find_series(d))
    else:
        n = len(build_cohort(d).manifest)
    dt = time.perf_counter() - t0
    print(json.dumps({"n": int(n), "seconds": dt, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def disk_mb(path):
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file()) / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=240); ap.add_argument("--size", default="full")
    ap.add_argument("--repeats", type=int, default=3); ap.add_argument("--child", nargs=3)
    a = ap.parse_args()
    if a.child: return child(*a.child)
    from spine_study.core import data_home
    from spine_study.phantom import ensure_phantom
    t0 = time.perf_counter()
    root = ensure_phantom(data_home() / "bench", n=a.n, seed=0, size=a.size, format="both")
    print(f"phantom {root.name}: ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    rows = {}
    for rep in range(a.repeats):
        for fmt in ("nifti", "dicom"):
            for kind in ("bare", "readers", "cohort"):
                out = subprocess.run([sys.executable, __file__, "--child", kind, fmt, str(root)], capture_output=True, text=True, check=True)
                rows.setdefault((fmt, kind), []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\n{a.n} patients, size={a.size}, best of {a.repeats} (fresh process each; peak RSS of that process)\n")
    print("| format | reader | scans | best s | scans/s | MB/s | × bare | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|")
    for fmt in ("nifti", "dicom"):
        mb = disk_mb(root / fmt); bare = min(r["seconds"] for r in rows[(fmt, "bare")])
        for kind in ("bare", "readers", "cohort"):
            rs = rows[(fmt, kind)]; best = min(r["seconds"] for r in rs)
            print(f"| {fmt} | {kind} | {rs[0]['n']} | {best:.2f} | {rs[0]['n'] / best:.1f} | {mb / best:.0f} | {best / bare:.2f} | {max(r['peak_rss_mb'] for r in rs):.0f} |")


if __name__ == "__main__":
    main()
