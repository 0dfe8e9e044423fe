"""The README's results summary names the runs its numbers come from: each R² [CI] in that table must be the run's own
metrics.json value (rounded as printed), so that the summary cannot drift from the committed runs."""
import json, re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def summary_rows():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    part = text[text.index("## What the study finds"):]
    part = part[:part.index("\n## ", 1)]
    return [l for l in part.splitlines() if l.startswith("| ") and "R² " in l and "`…" in l]


def test_summary_r2_equals_the_cited_runs():
    rows = summary_rows()
    assert len(rows) >= 3, rows
    num = r"([−-]?\d+\.\d+)"
    for row in rows:
        run_id = re.findall(r"`…([0-9.]+Z_\w+)`", row)[-1]
        found = list((REPO / "reports" / "runs").glob(f"*{run_id}"))
        assert len(found) == 1, f"{run_id}: the run the README cites is not committed"
        m = json.loads((found[0] / "metrics.json").read_text())
        r2, lo, hi = (float(x.replace("−", "-")) for x in re.search(rf"R² {num} \[{num}, {num}\]", row).groups())
        assert (r2, lo, hi) == tuple(round(v, 3) for v in (m["r2"], *m["r2_ci95"])), (run_id, row[:80])
