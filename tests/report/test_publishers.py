"""The publishers (``python -m report.readme``, ``python -m report.replica_readme``) copy only what is whole: a
degraded study is refused with one message and exit status 1, a foreign document or a README without its markers
with one message and exit status 4, and nothing is written until everything has been checked."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.replica_study import replica_study
from claims import catalogue
from fixtures.locate import CHALLENGE_SHA256, PROJECT_ROOT
from report import readme, replica_readme
from tests.report.documents import document as build_document


def _claims_report(folder):
    claims = {cid: {"verdict": "holds", "claimed": 1, "summary": "s"} for cid in catalogue().claim_ids}
    probes = {pid: {"verdict": "holds"} for pid in catalogue().probe_ids}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "claims.json").write_text(
        json.dumps(build_document({"checkpoint": {"sha256": CHALLENGE_SHA256, "challenge": True}}, claims, probes))
    )
    (folder / "badge.svg").write_text("<svg>new</svg>")


def _record(verdict, value):
    return {"verdict": verdict, "claimed": {"agreement": 0.95}, "measured": {"agreement": value}}


def _matrix(folder, replicas):
    """A matrix.json whose study has the given replica documents (an empty one: a run without records)."""
    own = {"claims": {"labeling-function": _record("holds", 0.96)}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "matrix.json"
    path.write_text(json.dumps({"schema_version": 1, "replica_study": replica_study(own, replicas)}))
    return path


def _replica(value):
    return {"claims": {"labeling-function": _record("holds", value)}}


@pytest.fixture
def published(tmp_path):
    """A README with both publishers' markers and the files they write, each holding "old"."""
    files = {
        "readme": tmp_path / "README.md",
        "badge": tmp_path / "badge.svg",
        "study_json": tmp_path / "docs" / "replica-study.json",
        "study_md": tmp_path / "docs" / "replica-study.md",
    }
    files["readme"].write_text(
        f"x\n{readme.START}\nold\n{readme.END}\n{replica_readme.START}\nold\n{replica_readme.END}\n"
    )
    for key in ("badge", "study_json", "study_md"):
        files[key].parent.mkdir(parents=True, exist_ok=True)
        files[key].write_text("old")
    return files


def _untouched(files):
    text = files["readme"].read_text()
    return text.count("old") == 2 and all(files[k].read_text() == "old" for k in ("badge", "study_json", "study_md"))


def _publish_study(matrix, files):
    replica_readme.update(matrix, files["readme"], files["study_json"], files["study_md"])


# ----------------------------------------------------------------------------------- degraded studies (exit 1)


@pytest.mark.parametrize(
    "replicas",
    [
        {"task-seed1": {}, "task-seed2": _replica(0.95)},  # one replica's run produced no records
        {"task-seed1": {}, "task-seed2": {}},  # every replica failed
    ],
    ids=["a-replica-missing", "every-replica-failed"],
)
def test_a_degraded_study_is_refused_and_nothing_is_written(tmp_path, published, replicas):
    matrix = _matrix(tmp_path / "out", replicas)
    with pytest.raises(readme.NotPublishable) as info:
        _publish_study(matrix, published)
    assert info.value.exit_status == 1
    assert "degraded" in str(info.value) and "task-seed1" in str(info.value)
    assert _untouched(published)


def test_a_study_whose_records_lack_some_replicas_is_refused(tmp_path, published):
    own = {"claims": {"labeling-function": _record("holds", 0.96), "class-split": _record("holds", 1.0)}}
    study = replica_study(own, {"task-seed1": _replica(0.95), "task-seed2": own})
    (tmp_path / "matrix.json").write_text(json.dumps({"replica_study": study}))
    with pytest.raises(readme.NotPublishable, match=r"class-split \(1 of 2\)"):
        _publish_study(tmp_path / "matrix.json", published)
    assert _untouched(published)


def test_a_whole_study_is_published(tmp_path, published):
    matrix = _matrix(tmp_path / "out", {"task-seed1": _replica(0.95), "task-seed2": _replica(0.94)})
    _publish_study(matrix, published)
    study = json.loads(published["study_json"].read_text())
    assert study["n"] == 2 and study["missing"] == []
    assert replica_readme.block(published["readme"].read_text()) == published["study_md"].read_text().rstrip("\n")


def _main(module, argv, files, monkeypatch):
    """``python -m <module> argv`` in this process, its targets the temporary ``files`` (never the project's)."""
    import functools

    if module is readme:
        targets = {"readme": files["readme"], "badge": files["badge"], "committed": files["study_json"]}
    else:
        targets = {"readme": files["readme"], "study_json": files["study_json"], "study_md": files["study_md"]}
    monkeypatch.setattr(module, "update", functools.partial(module.update, **targets))
    return module.main(argv)


def test_the_replica_publisher_refuses_a_degraded_study_with_exit_1_and_one_line(
    tmp_path, published, monkeypatch, capsys
):
    matrix = _matrix(tmp_path / "out", {"task-seed1": {}, "task-seed2": _replica(0.95)})
    assert _main(replica_readme, ["--matrix", str(matrix)], published, monkeypatch) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "task-seed1" in err
    assert _untouched(published)


# ----------------------------------------------------------------------------------- foreign documents (exit 4)


@pytest.mark.parametrize("content", ["[]", "{}", '{"summary": {"complete": true}}', "{", '"text"'])
def test_report_readme_refuses_a_foreign_claims_json_with_exit_4(tmp_path, published, content):
    folder = tmp_path / "out"
    _claims_report(folder)
    (folder / "claims.json").write_text(content)
    with pytest.raises(readme.BadDocument) as info:
        readme.update(folder, published["readme"], published["badge"])
    assert info.value.exit_status == 4 and str(folder / "claims.json") in str(info.value)
    assert _untouched(published)


@pytest.mark.parametrize(
    "content",
    [
        "[]",
        '{"replica_study": []}',
        '{"replica_study": {"n": 1}}',
        '{"replica_study": {"replicas": ["r"], "missing": [], "n": 1, "records": []}}',
        '{"replica_study": "x"}',
        "not json",
    ],
)
def test_replica_readme_refuses_a_foreign_matrix_json(tmp_path, published, content):
    (tmp_path / "matrix.json").write_text(content)
    with pytest.raises(readme.NotPublishable) as info:
        _publish_study(tmp_path / "matrix.json", published)
    # an empty or absent study is "nothing to publish" (1); anything else is a file this suite did not write (4)
    assert info.value.exit_status == (1 if content == '{"replica_study": []}' else 4), str(info.value)
    assert _untouched(published)


@pytest.mark.parametrize("module", [readme, replica_readme], ids=["readme", "replica_readme"])
def test_a_foreign_document_gives_one_line_and_exit_4_from_the_command_line(
    tmp_path, published, monkeypatch, capsys, module
):
    (tmp_path / "claims.json").write_text("[]")
    (tmp_path / "matrix.json").write_text("[]")
    option = "--report-dir" if module is readme else "--matrix"
    assert _main(module, [option, str(tmp_path)], published, monkeypatch) == 4
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "json of this suite" in err
    assert _untouched(published)


def test_the_command_line_gives_no_traceback(tmp_path):
    """The real command, on a file that cannot be published (it refuses before writing anything)."""
    (tmp_path / "matrix.json").write_text("[]")
    proc = subprocess.run(
        [sys.executable, "-m", "report.replica_readme", "--matrix", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 4 and "Traceback" not in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------------- README markers (exit 4)


def test_replica_readme_checks_the_markers_before_it_writes_docs(tmp_path, published):
    matrix = _matrix(tmp_path / "out", {"task-seed1": _replica(0.95)})
    published["readme"].write_text("no markers here\n")
    with pytest.raises(readme.BadDocument, match="markers") as info:
        _publish_study(matrix, published)
    assert info.value.exit_status == 4
    assert published["study_json"].read_text() == "old" and published["study_md"].read_text() == "old"
    assert published["readme"].read_text() == "no markers here\n"


def test_report_readme_without_its_markers_gives_one_message_and_touches_nothing(tmp_path, published):
    folder = tmp_path / "out"
    _claims_report(folder)
    published["readme"].write_text("no markers here\n")
    with pytest.raises(readme.BadDocument, match="markers") as info:
        readme.update(folder, published["readme"], published["badge"])
    assert info.value.exit_status == 4
    assert published["badge"].read_text() == "old" and published["readme"].read_text() == "no markers here\n"


def test_report_readme_still_publishes_a_complete_report(tmp_path, published):
    folder = tmp_path / "out"
    _claims_report(folder)
    readme.update(folder, published["readme"], published["badge"])
    assert "`labeling-function`" in published["readme"].read_text()
    assert published["badge"].read_text() == "<svg>new</svg>"
