"""Partial runs are honest: a run that does not record every claim and probe says what is missing, writes its
report into ``<report-dir>/partial/`` and leaves the complete report and its badge untouched; ``report.readme``
copies only a complete report of the challenge checkpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from claims import catalogue
from fixtures.locate import CHALLENGE_SHA256, PROJECT_ROOT
from report import readme

CLAIM_IDS, PROBE_IDS = catalogue().claim_ids, catalogue().probe_ids
from report.write import missing_records  # noqa: E402
from tests.conftest import run_claims  # noqa: E402
from tests.report.documents import document as build_document  # noqa: E402


def _snapshot(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.needs_data
@pytest.mark.parametrize("selection", [("-k", "scrubbing"), ("-m", "probe")], ids=["one-claim", "probes-only"])
def test_a_partial_run_leaves_the_complete_report_and_badge_intact(pytestconfig, claims_run, tmp_path, selection):
    out = tmp_path / "report"
    shutil.copytree(claims_run.report_dir, out)
    before = _snapshot(out)
    run = run_claims(pytestconfig, out, *selection)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    after = {k: v for k, v in _snapshot(out).items() if k.parts[0] != "partial"}
    assert after == before  # claims.json, badge.svg, shields.json, figures: byte for byte
    partial = json.loads((out / "partial" / "claims.json").read_text())
    assert partial["summary"]["complete"] is False
    missing = partial["summary"]["missing"]
    assert set(missing["claims"]) | set(partial["claims"]) == set(CLAIM_IDS)
    assert "PARTIAL RUN" in run.stdout and ", ".join(missing["claims"][:2]) in run.stdout
    assert "partial" in (out / "partial" / "badge.svg").read_text()
    # what the partial run shares with the complete one is recorded identically
    for kind in ("claims", "probes"):
        for cid, rec in partial[kind].items():
            assert rec == claims_run.document[kind][cid], cid


def _report(folder, complete=True, sha=CHALLENGE_SHA256):
    claims = {
        cid: {"verdict": "holds", "claimed": 1, "summary": "s"} for cid in (CLAIM_IDS if complete else CLAIM_IDS[:1])
    }
    probes = {pid: {"verdict": "holds"} for pid in PROBE_IDS}
    doc = build_document({"checkpoint": {"sha256": sha, "challenge": sha == CHALLENGE_SHA256}}, claims, probes)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.json").write_text(json.dumps(doc))
    (folder / "badge.svg").write_text("<svg>new</svg>")
    return doc


def test_missing_records_lists_what_a_run_lacks():
    assert missing_records(dict.fromkeys(CLAIM_IDS), dict.fromkeys(PROBE_IDS), catalogue()) == {
        "claims": [],
        "probes": [],
    }
    assert missing_records({}, {"robustness": 1}, catalogue())["probes"] == [p for p in PROBE_IDS if p != "robustness"]


@pytest.mark.parametrize("kind", ["no-report", "partial", "other-checkpoint"])
def test_report_readme_refuses_with_one_message_and_touches_nothing(tmp_path, kind, capsys):
    folder = tmp_path / "out"
    if kind == "partial":
        _report(folder, complete=False)
    elif kind == "other-checkpoint":
        _report(folder, sha="ab" * 32)
    text, badge = tmp_path / "README.md", tmp_path / "badge.svg"
    text.write_text(f"x\n{readme.START}\nold\n{readme.END}\n")
    badge.write_text("<svg>old</svg>")
    with pytest.raises(readme.NotPublishable) as info:
        readme.update(folder, text, badge)
    message = str(info.value)
    assert {
        "no-report": "run `pytest claims/` first",
        "partial": "partial report",
        "other-checkpoint": "another checkpoint",
    }[kind] in message
    assert "old" in text.read_text() and badge.read_text() == "<svg>old</svg>"


def test_report_readme_copies_a_complete_report_of_the_challenge_checkpoint(tmp_path):
    folder = tmp_path / "out"
    _report(folder)
    text, badge = tmp_path / "README.md", tmp_path / "badge.svg"
    text.write_text(f"x\n{readme.START}\nold\n{readme.END}\n")
    readme.update(folder, text, badge)
    assert "`labeling-function`" in text.read_text() and badge.read_text() == "<svg>new</svg>"


def test_report_readme_without_a_report_exits_1_with_one_line_and_no_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "report.readme", "--report-dir", str(tmp_path / "none")],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "run `pytest claims/` first" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
