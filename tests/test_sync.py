"""The exported package and the cleaned notebooks must be exactly what is committed."""
import shutil, subprocess
from pathlib import Path

from conftest import BIN, REPO


def test_export_and_clean_change_nothing(tmp_path):
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout.split(b"\0")
    files = [f.decode() for f in files if f]
    assert any(f.startswith("nbs/") for f in files) and any(f.startswith("spine_study/") for f in files)
    copy = tmp_path / "repo"
    for f in files:
        if (REPO / f).is_file():
            (copy / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / f, copy / f)
    for cmd in ("nbdev_export", "nbdev_clean"):
        subprocess.run([str(BIN / cmd)], cwd=copy, check=True, capture_output=True)
    changed = [f for f in files if (REPO / f).is_file() and (f.startswith(("nbs/", "spine_study/")))
               and (REPO / f).read_bytes() != (copy / f).read_bytes()]
    new = [str(p.relative_to(copy)) for p in (copy / "spine_study").rglob("*.py") if str(p.relative_to(copy)) not in files]
    assert not changed and not new, f"out of sync with the notebooks (run `make export` and commit): changed {changed}, new {new}"
