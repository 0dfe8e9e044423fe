"""What a user meets when a run is interrupted or the data are messy (issue 14): a `spine-study run` stopped by a
signal, what reaches stderr, and 01_data on a folder with a truncated scan, two series of one patient in one folder
and a truth.json that is not the phantom's."""
import json, shutil, signal, subprocess, time
from pathlib import Path

import pytest

from conftest import BIN, REPO, cli
from spine_study.core import list_runs, read_status

TINY = REPO / "tests" / "fixtures" / "tiny.ipynb"  # starts a run without torch: seconds, not tens of seconds
NOISE = ("without encryption", "KeyboardInterrupt caught in kernel")  # the kernel's lines that mean nothing to a user


def start_cli(reports, *params, cwd):
    "`spine-study run` of the tiny notebook, in the background (its own session: signals reach it alone)."
    return subprocess.Popen([str(BIN / "spine-study"), "run", str(TINY), "-p", "reports_dir", str(reports), *map(str, params)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, start_new_session=True)


def wait_status(reports, key, timeout=120):
    "(run directory, status) once the run's status.json holds `key`: runner_pid (the CLI began it), pid (the kernel runs it)."
    t0 = time.time()
    while time.time() - t0 < timeout:
        for f in sorted((reports / "runs").glob("*/status.json")) if (reports / "runs").is_dir() else []:
            if key in (st := read_status(f.parent)):
                return f.parent, st
        time.sleep(0.1)
    raise AssertionError(f"no run status with {key!r} after {timeout} s")


@pytest.mark.parametrize("sig, when", [(signal.SIGTERM, "pid"),          # while the notebook executes
                                       (signal.SIGINT, "runner_pid")])   # Ctrl-C while the kernel starts
def test_signalled_run_is_failed_with_the_signal(reports, tmp_path, sig, when):
    proc = start_cli(reports, "-p", "sleep_s", 120, cwd=tmp_path)
    run_dir, _ = wait_status(reports, when)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    name = signal.Signals(sig).name
    assert proc.returncode == 128 + sig, (proc.returncode, err)       # as a shell reports a process ended by the signal
    st = read_status(run_dir)
    assert st["status"] == "failed" and st["signal"] == name and f"stopped by {name}" in st["error"], st
    assert out.strip().splitlines()[-1] == str(run_dir) and f"stopped by {name}" in err
    assert not any(n in err for n in NOISE), err                       # nor the dying kernel's tracebacks
    assert "Traceback" not in err, err
    assert "1 failed" in (reports / "index.md").read_text(encoding="utf-8")  # the index is refreshed on the way out


def test_killed_run_is_abandoned_in_the_index(reports, tmp_path):
    proc = start_cli(reports, "-p", "sleep_s", 120, cwd=tmp_path)
    run_dir, _ = wait_status(reports, "runner_pid")
    proc.kill(); proc.wait()                                           # SIGKILL: nothing can write on the way out
    assert read_status(run_dir)["status"] == "running"
    cli("index", "--reports-dir", reports)
    assert "1 abandoned" in (reports / "index.md").read_text(encoding="utf-8")
    assert list_runs(reports).state.tolist() == ["abandoned"]


def test_stderr_keeps_real_messages_only(reports, tmp_path):
    p = cli("run", TINY, "-p", "reports_dir", reports, "-p", "say", "REAL: the scanner's disk is almost full", cwd=tmp_path)
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    assert read_status(run_dir)["status"] == "complete"
    assert "REAL: the scanner's disk is almost full" in p.stderr       # written by the kernel process itself
    assert not any(n in p.stderr for n in NOISE), p.stderr
    assert run_dir.name in (reports / "index.md").read_text(encoding="utf-8")  # `spine-study run` refreshes the index


def test_01_data_on_a_messy_folder(reports, tmp_path):
    "Two series of one patient in one folder, a truncated slice, a truth.json of the user's own: 01 completes and says what it skipped."
    from spine_study.phantom import make_phantom
    ph = make_phantom(tmp_path / "ph", n=3, format="dicom", repeat_fraction=1.0)   # every patient scanned twice
    data = tmp_path / "my study"; shutil.move(ph / "dicom", data)                  # away from the phantom's own truth.json
    first, second = sorted(data.glob("P0001_*"))
    for f in second.iterdir(): f.rename(first / f"second_{f.name}")               # the follow-up exported into the first folder
    second.rmdir()
    bad = sorted(data.glob("P0002_*"))[0]
    cut = sorted(bad.iterdir())[3]; cut.write_bytes(cut.read_bytes()[:-500])       # one slice's pixel data cut short
    (data / "truth.json").write_text(json.dumps({"scans": [{"file": "P0001.dcm", "grade": 2}], "note": "our own reading"}))
    p = cli("run", "01_data", "-p", "data_dir", data, "-p", "reports_dir", reports, cwd=tmp_path)
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    assert read_status(run_dir)["status"] == "complete", read_status(run_dir)
    m = json.loads((run_dir / "metrics.json").read_text())
    assert (m["n_scans"], m["n_patients"], m["n_scans_skipped"]) == (5, 3, 1) and "oracle_r2" not in m, m
    table = (run_dir / "intensity_by_scan.csv").read_text()
    assert table.count(f"{first.name}#") == 2, table                   # both series of the shared folder, each read
    summary = [line for line in p.stderr.splitlines() if "skipped" in line]
    assert len(summary) == 1 and summary[0].startswith(f"1 scan skipped: {bad.name}: {bad.name}/{cut.name}: pixel data truncated"), p.stderr
    assert summary[0].endswith(f"; see {run_dir / 'problems.csv'}"), summary
    assert not any(n in p.stderr for n in NOISE), p.stderr
