"""Which intensity normalisation survives gain, bias fields, coil falloff and sequence differences? Measured per cohort.

    python benchmarks/bench_norm.py [--data DIR ...] [--n4]

Every candidate is applied to the same crops: each cohort is preprocessed once with its default plan (crops placed and
rotated on the true L1-L5 centres of its landmarks.csv, CSF-reference normalisation), and the un-normalised crop is
recovered exactly as slab x CSF reference. Candidates: none (raw), z-score of the whole crop, robust (median / IQR of
the crop), robust z-score inside the vertebral-body mask, histogram standardisation (Nyul-Udupa: 11 percentile
landmarks of each crop mapped piecewise-linearly onto their cohort mean), the CSF reference (the plan's default), the
CSF reference followed by a per-site harmonisation (log intensities shifted and scaled so that each site's median and
IQR of the scans' body signal match the cohort's; uses images and site labels, never BMD), and with --n4 the N4 bias
field correction of SimpleITK (pip install SimpleITK) before a crop z-score.

For each candidate and cohort: the cross-validated R^2 (5-fold grouped by patient, per patient, bootstrap 95% CI) of a
ridge on five statistics of the L1-L4 body ROIs (9 mm discs at the centres on the mid slice: median, mean, SD, p10,
p90) in the normalised image; the mean within-site |Pearson r| of the body median with BMD (gain and bias left after
normalisation blur it); and site eta^2 of the body median (the share of its variance explained by the site: what a
normalisation leaves of scanner differences, assuming sites see similar patients). This is a cheap proxy read at the
true centres: the network's own comparison is a 03_train run with `-p norm ...`. Prints one table; nothing here is a test.
"""
import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from spine_study.core import md_table
from spine_study.data import dataset_fingerprint, load_cohort, resolve_data_dir
from spine_study.metrics import metrics_with_ci, patient_level
from spine_study.preprocess import (_landmark_groups, frame_uv, landmark_centres, landmarks_file, normalize,
                                    plan_from_fingerprint, preprocess_cohort, read_series, spine_frame)


def cohort_crops(data_dir):
    "Raw crops (n, S, H, W), body masks on the mid slice (n, H, W), table, plan: from the default plan and true centres."
    cohort = load_cohort(data_dir)
    plan = plan_from_fingerprint(dataset_fingerprint(cohort))
    lm = pd.read_csv(landmarks_file(cohort.data_dir), dtype={"ID": str})
    prep = preprocess_cohort(cohort, cohort.data_dir, plan, landmarks=lm)
    tab = prep.table
    if (tab.norm_used != "reference").any(): raise SystemExit(f"{data_dir}: some scans had no CSF reference; cannot recover raw crops")
    raw = prep.X * tab.csf_reference.to_numpy(np.float32)[:, None, None, None]
    n, S, H, W = raw.shape
    step, groups, rr, cc = plan.crop_mm / plan.out_size, _landmark_groups(lm), *np.indices((H, W))
    body = np.zeros((n, H, W), bool)
    for i, (p, s) in enumerate(zip(cohort.manifest.path, cohort.manifest.scan)):
        scan = read_series(Path(cohort.data_dir) / p, s)
        sp = np.asarray(scan.spacing_mm[1:], float)
        c = landmark_centres(scan, groups.get(s))
        if c is None: continue
        u, v = frame_uv(c[:4, 1:], sp, spine_frame(c[:, 1:], sp, plan.align == "spine"))
        for uu, vv in zip(u, v):
            body[i] |= ((rr - (uu / step + (H - 1) / 2)) ** 2 + (cc - (vv / step + (W - 1) / 2)) ** 2) * step ** 2 <= 81.0
    return raw, body, tab, plan


def body_median(Z, body, mid):
    return np.array([np.median(z[mid][b]) if b.any() else np.nan for z, b in zip(Z, body)])


def site_harmonised(Z, body, site, mid, eps=1e-2):
    "Log intensities, shifted and scaled per site so that the site's median and IQR of the scans' body medians match the cohort's."
    L = np.log(np.clip(Z, eps, None)); v = body_median(L, body, mid)
    iqr = lambda a: float(np.subtract(*np.nanpercentile(a, [75, 25])))
    out = np.empty_like(L)
    for s in np.unique(site):
        m = site == s
        out[m] = (L[m] - np.nanmedian(v[m])) / max(iqr(v[m]), 1e-6) * iqr(v) + np.nanmedian(v)
    return out


def nyul(Z, pcts=(1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99)):
    "Histogram standardisation: each crop's percentile landmarks mapped piecewise-linearly onto the cohort's mean landmarks."
    L = np.array([np.percentile(z, pcts) for z in Z]); std = L.mean(0)
    return np.stack([np.interp(z, l, std) for z, l in zip(Z, L)]).astype(np.float32)


def body_robust_z(Z, body, mid):
    out = np.empty_like(Z)
    for i, (z, b) in enumerate(zip(Z, body)):
        vals = z[mid][b] if b.any() else z.ravel()
        q1, med, q3 = np.percentile(vals, [25, 50, 75]); out[i] = (z - med) / max(q3 - q1, 1e-6)
    return out


def n4_corrected(Z, step, slice_mm=4.0):
    import SimpleITK as sitk
    out = np.empty_like(Z)
    for i, z in enumerate(Z):
        img = sitk.GetImageFromArray(np.clip(z, 1e-3, None).astype(np.float32)); img.SetSpacing((step, step, slice_mm))
        f = sitk.N4BiasFieldCorrectionImageFilter(); f.SetMaximumNumberOfIterations([50, 50, 30])
        f.Execute(img, sitk.OtsuThreshold(img, 0, 1, 200))
        out[i] = z / np.exp(sitk.GetArrayFromImage(f.GetLogBiasFieldAsImage(img)))
    return out


def scores(Z, body, tab, mid, seed=0):
    "Ridge CV R^2 per patient [CI], mean within-site |r| and site eta^2 of the body median."
    stats = []
    for z, b in zip(Z, body):
        v = z[mid][b] if b.any() else np.array([np.nan])
        stats.append([np.median(v), v.mean(), v.std(), np.percentile(v, 10), np.percentile(v, 90)])
    F = np.nan_to_num(np.array(stats)); y = tab.BMD.to_numpy(float); ids = tab.ID.astype(str).to_numpy()
    site = tab.site.astype(str).to_numpy()
    pred = cross_val_predict(make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13))), F, y, groups=ids, cv=GroupKFold(5))
    pp = patient_level(pd.DataFrame({"ID": ids, "fold": 0, "y_true": y, "y_pred": pred}))
    m = metrics_with_ci(pp.y_true.to_numpy(), pp.y_pred.to_numpy(), n_boot=1000, seed=seed)
    f = pd.Series(F[:, 0]); g = f.groupby(site).transform("mean")
    eta2 = float(((g - f.mean()) ** 2).sum() / max(((f - f.mean()) ** 2).sum(), 1e-12))
    within = np.mean([abs(np.corrcoef(F[site == s, 0], y[site == s])[0, 1]) for s in np.unique(site) if (site == s).sum() > 2])
    return dict(r2=m["r2"], r2_ci95=f"[{m['r2_ci95'][0]:.3f}, {m['r2_ci95'][1]:.3f}]", within_site_abs_r=within, site_eta2=eta2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", action="append", help="cohort folder(s) with a landmarks.csv (default: the embedded phantom)")
    ap.add_argument("--n4", action="store_true", help="also N4 bias-field correction (needs SimpleITK)")
    a = ap.parse_args()
    rows = []
    for d in a.data or [str(resolve_data_dir())]:
        t0 = time.time(); raw, body, tab, plan = cohort_crops(d); mid = (raw.shape[1] - 1) // 2
        site = tab.site.astype(str).to_numpy()
        ref = raw / tab.csf_reference.to_numpy(np.float32)[:, None, None, None]
        cands = {"none (raw)": lambda: raw, "z-score of the crop": lambda: np.stack([normalize(z, "zscore") for z in raw]),
                 "robust (crop median / IQR)": lambda: np.stack([normalize(z, "robust") for z in raw]),
                 "robust z-score in the body mask": lambda: body_robust_z(raw, body, mid),
                 "histogram standardisation (Nyul)": lambda: nyul(raw),
                 "CSF reference (default)": lambda: ref,
                 "CSF reference + site harmonisation (log)": lambda: site_harmonised(ref, body, site, mid)}
        if a.n4: cands["N4 bias correction + z-score of the crop"] = lambda: np.stack([normalize(z, "zscore") for z in n4_corrected(raw, plan.crop_mm / plan.out_size)])
        for name, make in cands.items():
            rows.append(dict(cohort=Path(d).parent.name if Path(d).name in ("nifti", "dicom") else Path(d).name, normalisation=name,
                             **scores(make(), body, tab, mid)))
            print(rows[-1], flush=True)
        print(f"{d}: {len(tab)} scans, {tab.site.nunique()} sites, {time.time() - t0:.0f} s")
    out = pd.DataFrame(rows)
    print(md_table(out.round(3)))


if __name__ == "__main__":
    main()
