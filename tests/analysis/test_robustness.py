"""The robustness engine on synthetic records: it must see a knife-edge verdict as fragile, a verdict far
inside its acceptance as robust, and find a choice's flip at the value where it is known to flip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.robustness import Choice, Judgement, Sample, bootstrap, cell, declare, measure, multiverse


def agreement_sample(n: int, agree: int) -> Sample:
    hits = np.zeros(n, dtype=bool)
    hits[:agree] = True
    return Sample({"images": {"hit": np.random.default_rng(1).permutation(hits)}})


def at_least(target: float):
    @declare(f"synthetic-at-least-{target}", no_open_choice="synthetic: the rule is fixed")
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        return Judgement(holds=a >= target, headline={"agreement": a})

    return judge


def test_a_measurement_exactly_on_the_boundary_is_about_half_stable():
    data = agreement_sample(60_000, 57_720)  # 96.2% exactly: the rule's boundary
    decl = at_least(0.962)
    base = decl(data)
    assert base.holds
    b = bootstrap(decl, data, base, resamples=400)
    assert 0.40 <= b["bootstrap_stability"] <= 0.60
    iv = b["intervals"]["agreement"]
    assert iv["low"] < 0.962 < iv["high"]
    # the interval is ±1.96 standard errors of an agreement over 60,000 images: ±0.15 pp, wider than ±0.1 pp
    se = np.sqrt(0.962 * 0.038 / 60_000)
    assert 3.5 * se < iv["high"] - iv["low"] < 4.3 * se


def test_a_measurement_far_inside_is_fully_stable():
    data = agreement_sample(60_000, 59_000)  # 98.3%, 14 standard errors above 96.2%
    decl = at_least(0.962)
    rec = measure(decl, data)
    assert rec["bootstrap_stability"] == 1.0
    assert rec["fragile"] is False and rec["minimal_flip"] is None
    assert rec["minimal_flip_text"].startswith("no open choice")
    assert cell(rec).startswith("robust · 100% of 200 resamples")


def test_the_same_sample_gives_the_same_record():
    data = agreement_sample(5_000, 4_810)
    decl = at_least(0.962)
    assert measure(decl, data) == measure(decl, data)


@declare(
    "synthetic-threshold",
    Choice.span("cut", 0.1, 0.0, 1.0, why="synthetic: a threshold the write-up left open"),
    Choice.among("statistic", "mean", ("mean", "median"), why="synthetic: both summarise the same values"),
)
def threshold_judge(d: Sample, cut: float, statistic: str) -> Judgement:
    x = d.rows("images", "x")
    m = float(np.mean(x) if statistic == "mean" else np.median(x))
    return Judgement(holds=m >= cut, headline={"m": m})


def test_a_choice_that_flips_at_a_known_value_is_found_there_after_shrinking():
    x = np.random.default_rng(0).normal(0.3, 0.01, 10_000)
    x[0] = 5.0  # an outlier: the median stays near 0.3, so "median" alone does not flip it at cut 0.1
    x -= x.mean() - 0.3  # mean 0.3: the verdict flips when the cut passes 0.3
    data = Sample({"images": {"x": x}})
    base = threshold_judge(data)
    assert base.holds
    mv = multiverse(threshold_judge, data, base)
    flip = mv["minimal_flip"]
    assert flip["choice"] == "cut" and flip["verdict"] == "fails"
    assert flip["value"] == pytest.approx(0.3, abs=1e-6)
    assert "cut ≥ 0.3" in mv["minimal_flip_text"]
    assert mv["shrunk_flip"] is not None and set(mv["shrunk_flip"]) == {"cut"}
    assert 0 < mv["kept_fraction"] < 1 and mv["explored"] >= 10


def test_a_discrete_choice_that_decides_the_verdict_is_found():
    @declare("synthetic-discrete",
             Choice.among("typical", "std", ("std", "mean"), why="synthetic: two readings of 'typical'"),
             Choice.span("bound", 0.05, 0.04, 0.06, why="synthetic: never flips"))
    def judge(d: Sample, typical: str, bound: float) -> Judgement:
        return Judgement(holds=typical == "std", headline={"x": 1.0})

    mv = multiverse(judge, Sample({"images": {"x": np.ones(3)}}), judge(Sample({"images": {"x": np.ones(3)}})))
    assert mv["minimal_flip"]["text"] == "fails if typical = mean (default std)"


def test_a_declaration_must_declare_choices_or_say_why_it_has_none():
    with pytest.raises(ValueError, match="no_open_choice"):
        declare("synthetic-empty")(lambda d: Judgement(True, {}))


# ----------------------------------------------------------------------------------------------- every view
def _record(verdict: str, rob: dict | None) -> dict:
    rec = {"verdict": verdict, "quote": "q", "claimed": {"x": 1}, "accept": "a", "measured": {}, "summary": "s",
           "erratum": "corrected" if verdict == "erratum" else None, "known_nonreproduction": None,
           "depends_on": "model", "family": "", "figures": []}
    if rob is not None:
        rec["robustness"] = rob
    return rec


def _doc():
    from report.write import build_document

    data = agreement_sample(2_000, 1_925)  # 96.25%: on the edge of "within 0.1 pp of 96.2%"
    edge = measure(at_least(0.962), data)
    far = measure(threshold_judge, Sample({"images": {"x": np.full(100, 0.3)}}))
    claims = {"labeling-function": _record("holds", edge), "pca-variance": _record("holds", far),
              "class-split": _record("erratum", {**far, "verdict": "erratum"}), "v-shape": _record("holds", None)}
    claims["v-shape"]["robustness"] = {"declared": False, "why": "no declaration", "fragile": False}
    return build_document({}, claims, {})


def test_every_view_marks_fragile_verdicts_and_the_badge_counts_robust_holds():
    from report import render
    from report.write import verdict_table_rows

    doc = _doc()
    s = doc["summary"]
    assert (s["holds"], s["robust_holds"], s["fragile"]) == (3, 0, 3)  # the knife edge, and 0.3 ≥ cut flips at 0.3
    # four records of the 26 claims: a partial document, and the badge says so before the counts
    assert render.badge_text(s) == "partial: 3 hold (0 robust) · 1 erratum"
    rows = verdict_table_rows(doc["claims"])
    assert rows[0] == ("claim", "claimed", "measured", "robustness", "verdict")
    cells = {r[0]: r[3] for r in rows[1:]}
    assert cells["labeling-function"].startswith("fragile · ") and "of 200 resamples" in cells["labeling-function"]
    assert cells["v-shape"] == "not measured (no declaration)"
    md = render.render_markdown(doc)
    assert "## Robustness" in md and "| robustness | verdict |" in md
    assert "fails if cut ≥ 0.3" in md
    from pathlib import Path
    page = render.render_html(doc, Path("."))
    assert "<th>robustness</th>" in page and "minimal flip" in page and "fails if cut ≥ 0.3" in page
    assert 'class="robustness fragile-mark"' in page


def test_without_robustness_the_report_is_unchanged():
    from report import render
    from report.write import build_document, verdict_table_rows

    doc = build_document({}, {"pca-variance": _record("holds", None)}, {})
    assert "robust_holds" not in doc["summary"]
    assert render.badge_text(doc["summary"]) == "partial: 1 hold · 0 errata"  # one record of 26: a partial document
    assert verdict_table_rows(doc["claims"])[0] == ("claim", "claimed", "measured", "verdict")
    assert "robustness" not in render.render_markdown(doc).lower()


def test_the_readme_column_comes_from_the_committed_robustness_when_a_run_did_not_measure_it(tmp_path):
    import json

    from report.readme import verdict_table

    doc = _doc()
    committed = tmp_path / "robustness.json"
    committed.write_text(json.dumps({k: v["robustness"] for k, v in doc["claims"].items()}))
    plain = {**doc, "claims": {k: {kk: vv for kk, vv in v.items() if kk != "robustness"} for k, v in doc["claims"].items()}}
    assert verdict_table(plain, committed) == verdict_table(doc, committed)
    plain["claims"]["pca-variance"]["verdict"] = "fails"
    assert "stale" in verdict_table(plain, committed)
    assert "| robustness |" not in verdict_table(plain, tmp_path / "absent.json")


# ----------------------------------------------------------------------------------------------- end to end
def test_a_bad_resample_count_is_one_usage_error():
    from tests.test_options import run_pytest

    proc = run_pytest("--robustness", "--robustness-resamples", "0")
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output[-2000:]
    assert "--robustness-resamples must be a positive number" in output and "Traceback" not in output


@pytest.mark.needs_data
def test_the_robustness_mode_records_every_selected_claim(pytestconfig, tmp_path):
    """Two claims' judges (labeling-function, detector-groups): both recorded, with intervals, stability, choices
    and the minimal flip, in claims.json and the terminal table."""
    from tests.conftest import run_claims

    run = run_claims(pytestconfig, tmp_path, "--robustness", "--robustness-resamples", "20",
                     "-k", "agrees_with_the_model or 48_one")
    assert run.returncode == 0, run.stdout[-3000:]
    # a selection is a partial run: its report goes to <report-dir>/partial/ (the complete one is never replaced)
    claims = json.loads((tmp_path / "partial" / "claims.json").read_text())["claims"]
    assert set(claims) == {"labeling-function", "detector-groups"}
    for cid, rec in claims.items():
        rob = rec["robustness"]
        assert rob["declared"] and rob["resamples"] == 20 and rob["verdict"] == rec["verdict"], cid
        assert set(rob["intervals"]) and 0 <= rob["bootstrap_stability"] <= 1 and rob["explored"] >= 2
        assert rob["minimal_flip_text"] and rob["choices"]
    assert "robustness" in run.stdout and "of 20 resamples" in run.stdout
    assert "robust_holds" in json.loads((tmp_path / "partial" / "claims.json").read_text())["summary"]
