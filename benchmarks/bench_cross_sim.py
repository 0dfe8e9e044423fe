"""Cross-cohort transfer: train the recommended pipeline on one cohort, apply it unchanged to another.

    python benchmarks/bench_cross_sim.py --train DIR --test DIR [--landmarks auto|true|predicted|none]
                                         [--epochs 40] [--members 5] [--n-boot 2000]

Both cohorts go through the same code: the preprocessing plan is derived from the TRAINING cohort's
fingerprint and applied to the test cohort as it is (what carrying a model to new scans does); the L1-L5
centres that place the crops come from `spine_study.localise.guide_landmarks` on each cohort (true ones when
it has a landmarks.csv and --landmarks is auto or true, else the phantom-trained landmark model). An ensemble
of `--members` networks (each trained on a different 80 % of the training patients, the rest for checkpoint
selection, as 03_train's folds) predicts every test scan; the ensemble mean is scored per patient with a
bootstrap CI, beside the mean predictor of the TRAINING cohort (the only baseline that does not look at the
test labels) and the ridge on image features fitted on the training cohort. Prints one table; nothing here
is a test.
"""
import argparse
import json
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from spine_study.data import dataset_fingerprint, load_cohort
from spine_study.localise import guide_landmarks
from spine_study.metrics import cv_splits, inner_val_split, metrics_with_ci, patient_level
from spine_study.preprocess import plan_from_fingerprint, preprocess_cohort, qc_summary
from spine_study.evaluation import FEATURE_COLUMNS, feature_estimator
from spine_study.train import fit, predict, resolve_config


def prepared(data_dir, plan, landmarks):
    "(Prepared, where the centres came from) of one cohort under a given plan."
    cohort = load_cohort(data_dir)
    centres, source, _ = guide_landmarks(cohort, landmarks)
    return preprocess_cohort(cohort, cohort.data_dir, plan, landmarks=centres), source


def scored(tab, y_pred, y_mean_train, n_boot, seed=0):
    "Per-patient metrics with CIs; the baseline is the training cohort's mean."
    pp = patient_level(pd.DataFrame({"ID": tab.ID.astype(str), "fold": 0, "y_true": tab.BMD.to_numpy(float), "y_pred": y_pred}))
    return metrics_with_ci(pp.y_true.to_numpy(), pp.y_pred.to_numpy(), n_boot=n_boot, seed=seed,
                           baseline_pred=np.full(len(pp), y_mean_train))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", required=True); ap.add_argument("--test", required=True)
    ap.add_argument("--landmarks", default="auto"); ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--members", type=int, default=5); ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--json", default=None, help="also write the table here")
    a = ap.parse_args()
    t0 = time.time()
    train_cohort = load_cohort(a.train)
    plan = plan_from_fingerprint(dataset_fingerprint(train_cohort))
    tr, tr_src = prepared(a.train, plan, a.landmarks)
    te, te_src = prepared(a.test, plan, a.landmarks)
    y, ids = tr.table.BMD.to_numpy(float), tr.table.ID.astype(str).to_numpy()
    cfg = resolve_config("cnn25d", epochs=a.epochs, seed=a.seed)
    members = []
    for s in cv_splits(ids, y, folds=a.members, repeats=1, seed=a.seed):
        fit_idx, val_idx = inner_val_split(np.asarray(s["train_idx"]), ids, y, frac=cfg.inner_val_frac, seed=a.seed + s["fold"])
        model, _ = fit(tr.X[fit_idx], y[fit_idx], tr.X[val_idx], y[val_idx], replace(cfg, seed=a.seed + s["fold"]))
        members.append(predict(model, te.X, cfg))
    y_cnn = np.mean(members, axis=0)
    ridge = feature_estimator("features_ridge", a.seed).fit(tr.table[FEATURE_COLUMNS].to_numpy(float), y)
    y_ridge = ridge.predict(te.table[FEATURE_COLUMNS].to_numpy(float))
    rows = []
    for name, yp in (("CNN25D ensemble (recommended recipe)", y_cnn), ("image features + ridge", y_ridge)):
        m = scored(te.table, yp, float(y.mean()), a.n_boot, a.seed)
        rows.append(dict(model=name, r2=m["r2"], r2_ci95=m["r2_ci95"], mae=m["mae"], pearson_r=m["pearson_r"],
                         train_mean_r2=m["baseline_r2"], n_patients=m["n_patients"]))
    qc_tr, qc_te = qc_summary(tr.table), qc_summary(te.table)
    print(f"train {a.train} ({len(tr.table)} scans, centres: {tr_src}, crop QC {qc_tr['qc_crop_fraction']})")
    print(f"test  {a.test} ({len(te.table)} scans, centres: {te_src}, crop QC {qc_te['qc_crop_fraction']}, "
          f"worst gate fails {qc_te['qc_worst_fail_fraction']:.1%})")
    print("| model | R² [95% CI] | MAE | Pearson r | training-cohort mean predictor R² | patients |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['r2']:.3f} [{r['r2_ci95'][0]:.3f}, {r['r2_ci95'][1]:.3f}] | {r['mae']:.3f} | "
              f"{r['pearson_r']:.3f} | {r['train_mean_r2']:.3f} | {r['n_patients']} |")
    print(f"({time.time() - t0:.0f} s)")
    if a.json:
        with open(a.json, "w") as f: json.dump(dict(train=a.train, test=a.test, rows=rows, qc_test=qc_te), f, indent=1, default=float)


if __name__ == "__main__":
    main()
