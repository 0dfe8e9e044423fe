"""Parameters checked before any work (issue 14, case 5): `spine-study run` refuses a bad value or an unknown name
before it makes a run directory, a plain `papermill` run stops in the first cell after the parameters with the same
words, a reports folder that cannot be written and a data folder without scans are named plainly."""
import ast, json, os, subprocess
from pathlib import Path

import nbformat
import pytest

from conftest import BIN, REPO, cli
from spine_study.cli import is_study_notebook
from spine_study.core import read_status
from spine_study.params import NOTEBOOK_PARAMS

NBS = REPO / "nbs"
BAD = {  # one value each notebook refuses, and the start of what it must answer
    "01_data": ("seed", "-1", "seed was given -1, but it must be a whole number from 0 to 4294967295"),
    "02_preprocess": ("workers", "0", "workers was given 0, but it must be a whole number, at least 1"),
    "03_train": ("epochs", "abc", "epochs was given 'abc', but it must be a whole number, at least 1, or None"),
    "04_diagnostics": ("feature_model", "lasso", "feature_model was given 'lasso', but it must be one of 'vbq_linear', 'features_ridge'"),
    "05_landmarks": ("image_size", "40", "image_size was given 40, but it must be a whole number, at least 32, a multiple of 16"),
    "06_external": ("alpha", "1.5", "alpha was given 1.5, but it must be a number, greater than 0 and less than 1"),
    "07_report": ("seed", "-1", "seed was given -1, but it must be a whole number from 0 to 4294967295"),
}


def test_allowed_words_are_the_modules_own():
    "The choices written out in spine_study.params equal the constants of the modules that use them."
    from spine_study import evaluation, localise, models, params, preprocess, train
    assert params.NETWORKS == tuple(models.MODELS) and params.SPLITS == tuple(train.SPLITS) and params.PROTOCOLS == tuple(train.PROTOCOLS)
    assert set(train.ORIGINAL_NORMS) <= {*params.NORM_METHODS, "raw"}
    assert params.FEATURE_MODELS == tuple(evaluation.FEATURE_MODELS)
    assert params.NORM_METHODS == tuple(preprocess.NORM_METHODS) and params.GUIDES == tuple(preprocess.GUIDES)
    assert params.LANDMARK_SOURCES == tuple(localise.LANDMARK_SOURCES) and params.CONVENTIONS == tuple(localise.CONVENTIONS)


def test_every_study_notebook_has_a_declaration():
    "A new study notebook (one with a `parameters` cell) needs its entry in NOTEBOOK_PARAMS; BAD covers each."
    study = sorted(p.stem for p in NBS.glob("*.ipynb") if is_study_notebook(p))
    assert study == sorted(NOTEBOOK_PARAMS) == sorted(BAD)


def study_cells(stem: str) -> list:
    "The notebook's cells from its `parameters` cell on (what runs after papermill injects the parameters)."
    nb = nbformat.read(str(NBS / f"{stem}.ipynb"), as_version=4)
    i = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return nb, nb.cells[i:]


def checks_first(stem: str) -> bool:
    "Whether the first statement after the imports of the cell after `parameters` is check_params(stem, globals())."
    _, cells = study_cells(stem)
    body = [s for s in ast.parse(cells[1].source).body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    call = body[0].value if body and isinstance(body[0], ast.Expr) else None
    return (isinstance(call, ast.Call) and getattr(call.func, "id", None) == "check_params" and len(call.args) == 2
            and isinstance(call.args[0], ast.Constant) and call.args[0].value == stem
            and isinstance(call.args[1], ast.Call) and getattr(call.args[1].func, "id", None) == "globals")


@pytest.mark.parametrize("stem", sorted(NOTEBOOK_PARAMS))
def test_notebook_checks_its_parameters_first(stem):
    assert checks_first(stem), f"{stem}: the first cell after `parameters` must begin with check_params({stem!r}, globals())"


@pytest.mark.parametrize("stem", sorted(BAD))
def test_plain_papermill_stops_at_the_first_cell_after_parameters(stem, tmp_path, reports):
    "papermill with a bad value: the cell after the parameters fails with the declaration's words; no run directory is made."
    if not checks_first(stem): pytest.skip(f"{stem} does not call check_params yet (see test_notebook_checks_its_parameters_first)")
    nb, cells = study_cells(stem)
    nb.cells = cells                                    # the study part alone: the functions above it are not what is tested
    src = tmp_path / f"{stem}.ipynb"; nbformat.write(nb, str(src))
    name, value, words = BAD[stem]
    p = subprocess.run([str(BIN / "papermill"), str(src), str(tmp_path / "out.ipynb"), "-p", name, value,
                        "-p", "reports_dir", str(reports), "--cwd", str(NBS), "--no-progress-bar"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode != 0 and words in p.stderr, p.stderr[-3000:]
    out = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code) if any(o.get("output_type") == "error" for o in c.outputs)]
    assert [code[i].outputs[-1].ename for i in failed] == ["ParameterError"]
    assert "injected-parameters" in code[failed[0] - 1].metadata.get("tags", [])      # the first cell after them
    assert not any(reports.iterdir()), list(reports.iterdir())                          # nothing was started


def test_cli_refuses_bad_values_and_unknown_names_before_any_run(reports, tmp_path):
    p = cli("run", "03_train", "-p", "epochs", "abc", "-p", "seed", "-1", "-p", "n_boots", "50", "-p", "lr", "0",
            "-p", "data_dir", tmp_path / "no such folder", "-p", "reports_dir", reports, cwd=tmp_path, check=False)
    assert p.returncode == 2 and p.stdout == "", (p.returncode, p.stdout)
    err = p.stderr
    assert "03_train: 5 problems with its parameters; no run was started" in err, err
    for words in ("n_boots is not a parameter of this notebook; did you mean n_boot?",
                  "epochs was given 'abc', but it must be a whole number, at least 1, or None",
                  "seed was given -1, but it must be a whole number from 0 to 4294967295",
                  "lr was given 0, but it must be a number, greater than 0 and at most 1",
                  f"data_dir was given '{tmp_path / 'no such folder'}', but it must be an existing folder"):
        assert words in err, (words, err)
    assert "Traceback" not in err and not any(reports.iterdir())


def test_cli_converts_good_values(tmp_path):
    "Text that spells an allowed value reaches the notebook as the declared type."
    from spine_study.cli import check_run_params, resolve_notebook
    params, _ = check_run_params(resolve_notebook("04_diagnostics"),
                                 {"cnn_lc_sizes": "10,20,40", "n_boot": "500", "cnn_epochs": None, "device": "CPU"})
    assert params == {"cnn_lc_sizes": [10, 20, 40], "n_boot": 500, "cnn_epochs": None, "device": "cpu"}


def test_cli_names_a_reports_dir_it_cannot_write(tmp_path):
    if os.geteuid() != 0:
        ro = tmp_path / "read only"; ro.mkdir(); ro.chmod(0o500); target, where = ro / "reports", ro
    elif Path("/proc/self").exists():
        target, where = Path("/proc/spine-study-reports"), Path("/proc")   # not writable even for root
    else: pytest.skip("running as root without /proc: no folder here is read-only to this account")
    p = cli("run", "01_data", "-p", "reports_dir", target, cwd=tmp_path, check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert f"reports_dir was given '{target}', but it must be a folder this account can write to" in p.stderr, p.stderr
    assert f"{where} is not writable" in p.stderr, p.stderr


def test_a_folder_without_scans_is_named(reports, tmp_path):
    "A sheet and no scan: the run fails with a message naming the folder, not an IndexError from the fingerprint."
    data = tmp_path / "my study"; data.mkdir()
    (data / "metadata.csv").write_text("ID,BMD\nP0001,0.95\n")
    p = cli("run", "01_data", "-p", "data_dir", data, "-p", "reports_dir", reports, cwd=tmp_path, check=False,
            env={"IN_TEST": "1"})
    assert p.returncode == 1, p.stderr
    run_dir = Path(p.stdout.strip().splitlines()[-1])
    st = read_status(run_dir)
    assert st["status"] == "failed" and f"no readable scan in {data}" in st["error"], st
    assert f"no readable scan in {data}" in p.stderr and "IndexError" not in p.stderr, p.stderr
