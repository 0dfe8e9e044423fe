"""Would averaging the network with a baseline of the same run help? Reads a 03_train run's out-of-fold per-patient predictions
(predictions_per_patient.csv and baseline_predictions_per_patient.csv); fits nothing and trains nothing.

    python benchmarks/bench_average.py RUN [RUN ...] [--baseline cnn_features_svr] [--weight 0.5] [--out FILE]

For each run: R² of the network, of the baseline, and of w * network + (1 - w) * baseline (w fixed in advance, not fitted),
with per-patient bootstrap 95% CIs; the average's paired dR2 over the network and over the baseline (same patients and
resamples). An average that contains the baseline is expected to beat it: the dR2 over the network is the fairer test.
Prints one table; nothing here is a test.
"""
import argparse
from pathlib import Path

import pandas as pd


def one_run(run: Path, baseline: str, w: float) -> dict:
    "The row of one run: the three R²s and the two paired differences."
    from spine_study.metrics import metrics_with_ci, paired_r2_difference
    net = pd.read_csv(run / "predictions_per_patient.csv").sort_values("ID").reset_index(drop=True)
    b = pd.read_csv(run / "baseline_predictions_per_patient.csv")
    base = net.assign(y_pred=b[b.model == baseline].set_index("ID").y_pred.reindex(net.ID).to_numpy())
    if base.y_pred.isna().any(): raise SystemExit(f"{run}: no {baseline} prediction for every patient")
    avg = net.assign(y_pred=w * net.y_pred + (1 - w) * base.y_pred)

    def r2(pp):
        m = metrics_with_ci(pp.y_true.to_numpy(), pp.y_pred.to_numpy(), n_boot=2000, seed=0)
        return f"{m['r2']:.3f} [{m['r2_ci95'][0]:.3f}, {m['r2_ci95'][1]:.3f}]"

    def delta(pp, ref):
        d, ci = paired_r2_difference(pp, ref)
        return f"{d:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}]"

    return {"run": run.name, "network": r2(net), baseline: r2(base), "average": r2(avg),
            "average - network": delta(avg, net), f"average - {baseline}": delta(avg, base)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="03_train run directories (with baselines)")
    ap.add_argument("--baseline", default="cnn_features_svr"); ap.add_argument("--weight", type=float, default=0.5, help="the network's weight")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from spine_study.core import md_table
    tab = pd.DataFrame([one_run(r, a.baseline, a.weight) for r in a.runs])
    text = f"average = {a.weight} x network + {1 - a.weight:g} x {a.baseline} (weight fixed, not fitted); per patient, 95% CIs\n{md_table(tab)}"
    print(text)
    if a.out: Path(a.out).parent.mkdir(parents=True, exist_ok=True); Path(a.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
