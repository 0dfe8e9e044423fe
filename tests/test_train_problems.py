"""03_train says what it skipped (issue 14, case 2): a copy of a small phantom with one `.nii.gz` cut to half its size
is trained on with a feature model (no network: fast); the run's problems.csv names the scan, metrics.json counts it
and `spine-study run` prints the one-line summary before the run's path."""
import json, shutil
from pathlib import Path

import pandas as pd

from conftest import cli
from spine_study.core import read_status


def test_03_train_reports_a_truncated_scan(reports, tmp_path):
    from spine_study.phantom import make_phantom
    ph = make_phantom(tmp_path / "ph", n=12, format="nifti")
    data = tmp_path / "my scans"; shutil.copytree(ph / "nifti", data)          # away from the phantom's truth.json
    bad = sorted(data.glob("*.nii.gz"))[6]
    raw = bad.read_bytes(); bad.write_bytes(raw[: len(raw) // 2])               # cut to half its size
    p = cli("run", "03_train", "-p", "data_dir", data, "-p", "model", "features_svr", "-p", "repeats", 1, "-p", "folds", 3,
            "-p", "reports_dir", reports, cwd=tmp_path, env={"IN_TEST": "1"})   # the study section at its test size (3 folds, 3 epochs)
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    assert read_status(run_dir)["status"] == "complete", read_status(run_dir)
    problems = pd.read_csv(run_dir / "problems.csv")
    skipped = problems[problems.severity == "skipped"]
    assert skipped["where"].tolist() == [bad.name], problems
    assert "truncated" in skipped.message.iloc[0], skipped.message.iloc[0]
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["n_scans_skipped"] == 1 and m["n_patients"] == 11, m
    summary = [line for line in p.stderr.splitlines() if "skipped" in line]
    assert len(summary) == 1 and summary[0].startswith(f"1 scan skipped: {bad.name}: "), p.stderr
    assert summary[0].endswith(f"; see {run_dir / 'problems.csv'}"), summary
