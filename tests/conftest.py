import os, shutil, subprocess, sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIXTURE = REPO / "tests" / "fixtures" / "demo.ipynb"


@pytest.fixture
def reports(tmp_path):
    "A reports directory whose path has spaces and non-ASCII characters."
    d = tmp_path / "rep orts ü"
    d.mkdir()
    return d


def cli(*args, cwd=None, check=True, env=None):
    "Run the installed `spine-study` console script."
    p = subprocess.run([str(BIN / "spine-study"), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                       env={**os.environ, **(env or {})}, timeout=600)
    if check and p.returncode:
        raise AssertionError(f"spine-study {' '.join(map(str, args))} -> {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p
