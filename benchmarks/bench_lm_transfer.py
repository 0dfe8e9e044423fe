"""Does the phantom-trained landmark model hold on cohorts it never saw? The default model (`phantom_landmark_model`),
trained on one or both views of the phantom (00c `VIEWS`: "lumbar" shows T12..S1, "wide" T9..S3 in a wider field of view),
applied unchanged to each test cohort's scans and scored against that cohort's own landmarks.csv.

    python benchmarks/bench_lm_transfer.py --test DIR [DIR ...] [--views lumbar lumbar+wide] [--seeds 0 1 2] [--epochs 12 24]
                                           [--knob NAME VALUE ...] [--out FILE]

Every (views, seed, epochs) model is trained once and kept under data_home()/models like the study's default (a seed is
the phantom's seed and the training seed). Per test cohort and model: mean and median in-plane error of the L1..L5 centres
(mm, image-chosen mid-sagittal slice), PCK@10 mm, the share of scans with all five within 10 mm, and how often L1 lands
nearest another level's true centre (a whole-level confusion). --knob sets another LandmarkConfig field for every model
(e.g. --knob base_channels 16). Prints one table; nothing here is a test.
"""
import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd


def score(model, data_dir: Path) -> dict:
    from spine_study.cohort import build_cohort
    from spine_study.localise import centre_errors, predict_landmarks_table, read_landmarks
    coh = build_cohort(data_dir, read_pixels=False)
    truth = read_landmarks(data_dir / "landmarks.csv", coh.manifest, data_dir)
    e = centre_errors(predict_landmarks_table(coh.manifest, data_dir, model), truth, coh.manifest)
    tp = truth.points.set_index(["scan", "level"])[["r", "c"]]
    sp = coh.manifest.set_index("scan")[["spacing_row_mm", "spacing_col_mm"]]
    levels = ["L1", "L2", "L3", "L4", "L5"]
    l1_wrong = []
    for r in e[e.level == "L1"].itertuples():
        T = np.array([tp.loc[(r.scan, lv)].to_numpy(float) for lv in levels])
        d = np.hypot(*((T - [r.r, r.c]) * sp.loc[r.scan].to_numpy(float)).T)
        l1_wrong.append(int(np.argmin(d)) != 0 or d.min() > 0.5 * np.hypot(*((T[1] - T[0]) * sp.loc[r.scan].to_numpy(float))))
    return {"scans": int(e.scan.nunique()), "MRE mm": round(e.err_mm.mean(), 2), "median mm": round(e.err_mm.median(), 2),
            "PCK@10mm": round((e.err_mm < 10).mean(), 3), "all 5 within 10 mm": round((e.groupby("scan").err_mm.max() < 10).mean(), 3),
            "L1 off its level": round(float(np.mean(l1_wrong)), 3)}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", nargs="+", required=True, help="cohort folders with scans and a landmarks.csv")
    ap.add_argument("--views", nargs="+", default=["lumbar", "lumbar+wide"]); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, nargs="+", default=[12]); ap.add_argument("--out", default=None)
    ap.add_argument("--knob", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    a = ap.parse_args()
    knobs = {k: json.loads(v) for k, v in a.knob}
    from spine_study.localise import phantom_landmark_model
    rows = []
    for views, seed, epochs in itertools.product(a.views, a.seeds, a.epochs):
        t0 = time.perf_counter(); m = phantom_landmark_model(seed=seed, epochs=epochs, views=tuple(views.split("+")), **knobs); fit = time.perf_counter() - t0
        for d in a.test:
            rows.append({"views": views, **knobs, "seed": seed, "epochs": epochs, "cohort": Path(d).parent.name if Path(d).name == "nifti" else Path(d).name,
                         **score(m, Path(d)), "fit or load s": round(fit, 1)})
            print(json.dumps(rows[-1]), flush=True)
    df = pd.DataFrame(rows)
    from spine_study.core import md_table
    print("\n" + md_table(df))
    mean = df.groupby(["views", *knobs, "epochs", "cohort"], sort=False)[["MRE mm", "median mm", "PCK@10mm", "all 5 within 10 mm", "L1 off its level"]].mean().round(3)
    print("\nmean over seeds\n" + md_table(mean.reset_index()))
    if a.out: Path(a.out).write_text(json.dumps({"rows": rows}, indent=1))
