"""Integration tests of the run machinery: real papermill executions of a small study-shaped notebook."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest

from conftest import BIN, FIXTURE, cli
from spine_study.core import list_runs, read_status, write_index

REQUIRED = ["params.json", "env.json", "metrics.json", "status.json", "predictions.csv", "figures/pred_vs_true.png"]


def only_run(reports):
    runs = sorted((reports / "runs").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def wait_final(run_dir, timeout=30):
    "The papermill watcher finalizes shortly after papermill exits."
    t0 = time.time()
    while time.time() - t0 < timeout:
        st = read_status(run_dir)
        if st["status"] != "running":
            return st
        time.sleep(0.2)
    return read_status(run_dir)


def test_cli_run_is_complete(reports, tmp_path):
    p = cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "seed", 1, cwd=tmp_path)
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    assert run_dir == only_run(reports)
    assert run_dir.name.split("_", 1)[1].startswith("demo_") and len(run_dir.name.rsplit("_", 1)[1]) == 8
    for f in REQUIRED + ["demo.ipynb"]:
        assert (run_dir / f).exists(), f
    st = read_status(run_dir)
    assert st["status"] == "complete" and st["executed_notebook"] == "demo.ipynb"
    assert f"(runs/{run_dir.name}/demo.ipynb)" in (reports / "index.md").read_text()   # not a study run: no page made yet
    cli("index", "--render", "--reports-dir", reports)
    assert "</pre>" in (run_dir / "demo.html").read_text()                               # the run as a web page
    assert f"(runs/{run_dir.name}/demo.html)" in (reports / "index.md").read_text()      # which the index now links
    params = json.loads((run_dir / "params.json").read_text())
    assert params["seed"] == 1 and params["reports_dir"] == str(reports)
    env = json.loads((run_dir / "env.json").read_text())
    for k in ["python", "torch", "numpy", "pydicom", "nibabel", "scikit-learn", "git_commit", "git_dirty", "device", "seed"]:
        assert k in env, k
    assert env["device"] in ("cpu", "cuda") and env["seed"] == 1


def test_plain_papermill_completes(reports, tmp_path):
    out, mark = tmp_path / "out put é.ipynb", tmp_path / "test cell ran"
    subprocess.run([str(BIN / "papermill"), str(FIXTURE), str(out), "-p", "reports_dir", str(reports)],
                   check=True, capture_output=True, timeout=600, env={**os.environ, "DEMO_TEST_MARK": str(mark)})
    run_dir = only_run(reports)
    st = wait_final(run_dir)
    assert st["status"] == "complete", st
    assert st["executed_by"] == "papermill" and (run_dir / out.name).exists()
    assert mark.read_text() == "ran"                      # plain papermill executes the notebook's test cells too


def test_study_runs_skip_test_cells(reports, tmp_path):
    "`spine-study run` executes a notebook's exported cells and study section, not its test cells; --with-tests runs them."
    mark = tmp_path / "test cell ran"
    run_dir = Path(cli("run", FIXTURE, "-p", "reports_dir", reports, env={"DEMO_TEST_MARK": str(mark)}).stdout.strip().splitlines()[-1])
    st = read_status(run_dir)
    assert st["status"] == "complete" and st["test_cells_skipped"] == 1 and not mark.exists()
    cells = json.loads((run_dir / "demo.ipynb").read_text())["cells"]
    assert "skip-execution" in cells[2]["metadata"]["tags"] and not cells[2]["outputs"]   # kept in the record, unexecuted
    assert "skip-execution" not in cells[1]["metadata"].get("tags", [])                  # the exported cell ran
    run_dir = Path(cli("run", FIXTURE, "--with-tests", "-p", "reports_dir", reports, "-p", "seed", 2,
                       env={"DEMO_TEST_MARK": str(mark)}).stdout.strip().splitlines()[-1])
    assert read_status(run_dir)["test_cells_skipped"] == 0 and mark.read_text() == "ran"   # plain papermill: test_plain_papermill_completes


def test_injected_failure_is_failed_and_not_indexed(reports, tmp_path):
    p = cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "fail", "True", cwd=tmp_path, check=False)
    assert p.returncode == 1
    bad = Path(p.stdout.strip().splitlines()[-1])
    st = read_status(bad)
    assert st["status"] == "failed" and "injected failure" in st["error"]
    good = Path(cli("run", FIXTURE, "-p", "reports_dir", reports).stdout.strip().splitlines()[-1])
    text = write_index(reports).read_text()
    assert good.name in text and bad.name not in text and "1 failed" in text


def test_plain_papermill_failure_is_failed(reports, tmp_path):
    p = subprocess.run([str(BIN / "papermill"), str(FIXTURE), str(tmp_path / "o.ipynb"), "-p", "reports_dir", str(reports),
                        "-p", "fail", "True"], capture_output=True, timeout=600)
    assert p.returncode != 0
    st = wait_final(only_run(reports))
    assert st["status"] == "failed" and "injected failure" in st["error"]


def test_killed_run_never_complete(reports, tmp_path):
    proc = subprocess.Popen([str(BIN / "papermill"), str(FIXTURE), str(tmp_path / "o.ipynb"), "-p", "reports_dir", str(reports),
                             "-p", "sleep_s", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    t0 = time.time()
    while not list((reports / "runs").glob("*/status.json")) and time.time() - t0 < 60:
        time.sleep(0.2)
    time.sleep(2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    run_dir = only_run(reports)
    st = wait_final(run_dir, timeout=10)
    assert st["status"] != "complete"
    state = list_runs(reports).state.iloc[0]
    assert state in ("failed", "abandoned"), state


def test_same_params_same_metrics_bytes(reports):
    a = Path(cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "seed", 7).stdout.strip().splitlines()[-1])
    b = Path(cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "seed", 7).stdout.strip().splitlines()[-1])
    assert a != b
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()
    assert (a / "predictions.csv").read_bytes() == (b / "predictions.csv").read_bytes()
    c = Path(cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "seed", 8).stdout.strip().splitlines()[-1])
    assert (a / "metrics.json").read_bytes() != (c / "metrics.json").read_bytes()


def test_unknown_parameter_is_refused(reports):
    p = cli("run", FIXTURE, "-p", "reports_dir", reports, "-p", "epochz", 3, check=False)
    assert p.returncode != 0 and "epochz" in p.stderr


def test_real_study_notebook_via_cli(reports, tmp_path):
    "01_data on the embedded phantom (small under IN_TEST): a complete run with its fingerprint and figures."
    p = cli("run", "01_data", "-p", "reports_dir", reports, cwd=tmp_path, env={"IN_TEST": "1"})
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    assert read_status(run_dir)["status"] == "complete"
    fp = json.loads((run_dir / "fingerprint.json").read_text())
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["n_patients"] == fp["n_patients"] == 40 and 0.55 < m["oracle_r2"] < 0.8
    assert json.loads((run_dir / "env.json").read_text())["data_fingerprint"] == fp["files_hash"]
    assert (run_dir / "figures" / "montage_mid_sagittal.png").exists() and (run_dir / "01_data.ipynb").exists()
