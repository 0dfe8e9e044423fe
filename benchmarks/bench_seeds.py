"""How much of a single 03_train result is the network's seed? The recommended network, cross-validated on the same folds
with several training seeds, each seed's R², the R² of their mean prediction, and paired differences.

    python benchmarks/bench_seeds.py [--data DIR] [--seeds 0 1 2] [--landmarks true] [--site-scale] [--n-slices 5 9]
                                     [--recipe default early_stopping=0,keep=last] [--workers 2] [--out FILE]

The folds are those of a study run with seed 0 (5-fold grouped CV x 1 repeat); only the network's seed (initialisation,
batch order, augmentation) changes between members. --site-scale adds one more run at seed 0 on slabs harmonised per site
(each site's slabs divided by its median body/CSF ratio over the cohort's median: images and the sheet's Site, never BMD).
--n-slices K [K ...] runs every seed at each slab depth (03_train's n_slices; the first is the reference) and adds, per depth,
the mean of its seeds and that mean's paired dR2 against the reference depth's mean. --recipe R [R ...] does the same for
training recipes: each R is "default" (the recommended one) or comma-separated TrainConfig overrides such as
"early_stopping=0,keep=last" (03_train's spelling: early_stopping=0 turns it off); the first is the reference.
Per patient, bootstrap 95% CIs; paired dR2 over the same patients and resamples. Prints one table; nothing here is a test.
"""
import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd


def _value(text: str):
    "A recipe value: none/true/false, an int, a float, else the text itself."
    named = {"none": None, "true": True, "false": False}
    if text.lower() in named: return named[text.lower()]
    for cast in (int, float):
        try: return cast(text)
        except ValueError: pass
    return text


def parse_recipe(text: str) -> dict:
    "'default' -> {}; 'k=v,k=v' -> TrainConfig overrides (03_train's early_stopping -> early_stopping_patience)."
    if text == "default": return {}
    pairs = (item.split("=", 1) for item in text.split(","))
    return {{"early_stopping": "early_stopping_patience"}.get(k, k): _value(v) for k, v in pairs}


def one_run(data, landmarks, seed, site_scale, n_slices=None, recipe="default"):
    "Out-of-fold per-patient predictions of the recommended network at one seed (optionally on site-scaled slabs)."
    from spine_study.evaluation import evaluate
    from spine_study.train import cross_validate, prepare_inputs, resolve_config, sheet_sites, study_splits
    t0 = time.time()
    inp = prepare_inputs(data, landmarks=landmarks, n_slices=n_slices)
    splits, _ = study_splits(inp.ids, inp.y, "cv", 5, 1, 0)
    X = np.asarray(inp.X, np.float32)
    if site_scale:
        X = X.copy(); site = sheet_sites(data).reindex(inp.ids).fillna("").to_numpy(str)
        v = inp.table.body_mean_csf.to_numpy(float)
        for s in np.unique(site): X[site == s] /= np.nanmedian(v[site == s]) / np.nanmedian(v)
    pred, _ = cross_validate(X, inp.y, inp.ids, resolve_config("cnn25d", device="cpu", seed=seed, **parse_recipe(recipe)), splits, progress=False)
    pp, m = evaluate(pred, inp.y, inp.ids, splits)
    return pp, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="a data folder (default: the embedded phantom)"); ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--landmarks", default="auto"); ap.add_argument("--site-scale", action="store_true")
    ap.add_argument("--n-slices", type=int, nargs="+", default=[None], help="slab depths to compare (default: 03_train's)")
    ap.add_argument("--recipe", nargs="+", default=["default"], help="training recipes to compare ('default' or k=v,k=v overrides)")
    ap.add_argument("--workers", type=int, default=2); ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from spine_study.metrics import metrics_with_ci, paired_r2_difference
    for r in a.recipe: parse_recipe(r)   # a typo fails here, not in a worker
    variants = [(k, r) for k in a.n_slices for r in a.recipe]   # the first is the reference
    label = lambda v: ("" if len(a.n_slices) == 1 else f"{v[0]} slices, ") + ("" if len(a.recipe) == 1 else f"{v[1]}, ")
    jobs = [(f"{label(v)}seed {s}", (a.data, a.landmarks, s, False, v[0], v[1])) for v in variants for s in a.seeds]
    if a.site_scale: jobs.append(("seed 0, slabs scaled per site", (a.data, a.landmarks, 0, True, a.n_slices[0], a.recipe[0])))
    from spine_study.train import prepare_inputs
    for k in a.n_slices: prepare_inputs(a.data, landmarks=a.landmarks, n_slices=k)   # fill the preprocessing cache once, before the workers read it
    with ProcessPoolExecutor(a.workers, mp_context=multiprocessing.get_context("spawn")) as ex:   # torch in a forked child can hang
        res = dict(zip([n for n, _ in jobs], ex.map(one_run, *zip(*[j for _, j in jobs]))))
    pps = {n: pp.sort_values("ID").reset_index(drop=True) for n, (pp, _) in res.items()}
    means = {}
    for v in variants:
        seeds = [f"{label(v)}seed {s}" for s in a.seeds]
        means[v] = f"{label(v)}mean of {len(seeds)} seeds"
        pps[means[v]] = pps[seeds[0]].assign(y_pred=np.mean([pps[n].y_pred for n in seeds], 0))
    ref_name = f"{label(variants[0])}seed {a.seeds[0]}"; ref = pps[ref_name]
    rows = []
    for n, pp in pps.items():
        m = metrics_with_ci(pp.y_true.to_numpy(), pp.y_pred.to_numpy(), n_boot=2000, seed=0)
        d, ci = paired_r2_difference(pp, ref) if n != ref_name else (np.nan, [np.nan, np.nan])
        dm, cim = (paired_r2_difference(pp, pps[means[variants[0]]]) if n in means.values() and n != means[variants[0]]
                   else (np.nan, [np.nan, np.nan]))
        rows.append(dict(run=n, r2=round(m["r2"], 3), r2_ci95=f"[{m['r2_ci95'][0]:.3f}, {m['r2_ci95'][1]:.3f}]",
                         delta_r2_vs_seed0=None if np.isnan(d) else f"{d:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]",
                         **({"delta_r2_vs_reference_mean": None if np.isnan(dm) else f"{dm:+.3f} [{cim[0]:+.3f}, {cim[1]:+.3f}]"}
                            if len(variants) > 1 else {}),
                         seconds=round(res[n][1]) if n in res else None))
    tab = pd.DataFrame(rows)
    from spine_study.core import md_table
    text = f"{a.data}, landmarks={a.landmarks}, {len(ref)} patients, 5-fold x 1 (split seed 0); reference: {ref_name}\n{md_table(tab)}"
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        from spine_study.core import git_info
        Path(a.out).write_text(json.dumps(dict(data=a.data, landmarks=a.landmarks, recipes=a.recipe, n_slices=a.n_slices, rows=rows,
                                               predictions={n: pp.y_pred.round(5).tolist() for n, pp in pps.items()},
                                               ids=ref.ID.astype(str).tolist(), y_true=ref.y_true.tolist(), **git_info()), indent=1))
        Path(a.out).with_suffix(".txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
