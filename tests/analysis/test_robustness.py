"""The robustness engine on synthetic judges: a statistic exactly on its bound is within sampling noise, one
far inside is clear; the enumeration reports a choice's flip at the value where it is known to flip; an
excluded reading is never evaluated; a claim that holds only on its training sample does not replicate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from analysis.robustness import (
    DEPENDS,
    NOISE,
    NOT_REPLICATED,
    PRECISE,
    SETTLED,
    Bound,
    Choice,
    Judgement,
    Sample,
    bootstrap,
    cell,
    combinations,
    declare,
    exclude,
    measure,
    readings,
    undeclared,
)


def agreement_sample(n: int, agree: int, seed: int = 1) -> Sample:
    hits = np.zeros(n, dtype=bool)
    hits[:agree] = True
    return Sample({"images": {"hit": np.random.default_rng(seed).permutation(hits)}})


def at_least(target: float, bounded: bool = True):
    @declare(
        f"synthetic-at-least-{target}-{bounded}",
        no_open_choice="synthetic: the rule is fixed",
        no_heldout="synthetic: one sample",
    )
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        return Judgement(
            holds=a >= target, headline={"agreement": a}, bounds={"agreement": Bound(low=target)} if bounded else {}
        )

    return judge


def test_a_statistic_exactly_on_its_bound_is_within_sampling_noise():
    data = agreement_sample(60_000, 57_720)  # 96.2% exactly: the rule's boundary
    decl = at_least(0.962)
    rec = measure(decl, data, resamples=400)
    assert rec["verdict"] == "holds" and rec["sampling"] == NOISE
    stat = rec["statistics"]["agreement"]
    assert stat["low"] < 0.962 < stat["high"] and stat["edges"][0]["distance_se"] == pytest.approx(0, abs=1e-9)
    # the interval is ±1.96 standard errors of an agreement over 60,000 images
    se = np.sqrt(0.962 * 0.038 / 60_000)
    assert stat["se"] == pytest.approx(se, rel=0.15)
    assert rec["marks"] == [NOISE] and not rec["settled"] and rec["cell"].startswith(NOISE)


def test_a_statistic_far_inside_its_bound_is_clear_and_settled():
    data = agreement_sample(60_000, 59_000)  # 98.3%, 28 standard errors above 96.2%
    rec = measure(at_least(0.962), data)
    assert rec["sampling"] == "clear" and rec["statistics"]["agreement"]["edges"][0]["distance_se"] > 20
    assert rec["settled"] and rec["label"] == SETTLED and cell(rec) == SETTLED
    assert rec["readings"]["flip"] is None and rec["readings"]["flip_text"].startswith("no open choice")


def test_a_rule_narrower_than_the_interval_is_said_in_words():
    @declare("synthetic-precise", no_open_choice="synthetic", no_heldout="synthetic")
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        return Judgement(
            abs(a - 0.962) <= 0.001,
            {"agreement": a},
            bounds={"agreement": Bound.within(0.962, 0.001, images=d.size("images"))},
        )

    rec = measure(judge, agreement_sample(60_000, 57_748))  # 96.247%, inside ±0.1 pp, interval ±0.15 pp
    assert rec["verdict"] == "holds" and rec["sampling"] == NOISE
    assert rec["statistics"]["agreement"]["tolerance_narrower_than_interval"]
    assert "stated more precisely than 60,000 images can confirm" in rec["cell"]
    assert "fragile" not in rec["cell"]
    # an exact reproduction is never called doubtful: no noise mark, not settled either (the data cannot confirm)
    assert NOISE not in rec["marks"] and NOISE not in rec["cell"] and not rec["settled"]
    assert rec["label"] == PRECISE


def test_a_failing_conjunction_is_clear_when_one_of_its_rules_fails_clearly():
    @declare("synthetic-and", no_open_choice="synthetic", no_heldout="synthetic")
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        return Judgement(
            a >= 0.962 and a <= 0.5, {"a": a, "b": a}, bounds={"a": Bound(low=0.962), "b": Bound(high=0.5)}
        )

    rec = measure(judge, agreement_sample(60_000, 57_720))  # a on its bound; b far outside: fails, clearly
    assert rec["verdict"] == "fails" and rec["sampling"] == "clear" and rec["in_doubt"] == []


def test_without_bounds_the_share_of_resamples_is_never_rounded_to_all():
    data = agreement_sample(60_000, 57_840)  # 2.6 SE above the bound: one resample in 200 fails
    rec = bootstrap(at_least(0.962, bounded=False), data, at_least(0.962, bounded=False)(data), resamples=200)
    failed = 200 - rec["kept"]
    assert failed == 1
    assert rec["rule"] == "share of resamples" and rec["sampling"] == "clear"  # at most 2.5% flip it
    assert "199 of 200 resamples (99.5% ± 0.5 pp" in rec["sampling_text"]
    assert rec["monte_carlo_error"] == pytest.approx(np.sqrt(rec["kept"] / 200 * failed / 200 / 200))


def test_the_same_sample_gives_the_same_record():
    data = agreement_sample(5_000, 4_810)
    decl = at_least(0.962)
    assert json.dumps(measure(decl, data), sort_keys=True) == json.dumps(measure(decl, data), sort_keys=True)


@declare(
    "synthetic-threshold",
    Choice.values(
        "cut",
        0.1,
        {0.1: "synthetic: the default", 0.2: "synthetic", 0.3: "synthetic", 0.4: "synthetic"},
        why="synthetic: a threshold the write-up left open",
    ),
    Choice.among("statistic", "mean", ("mean", "median"), why="synthetic: both summarise the same values"),
    no_heldout="synthetic",
)
def threshold_judge(d: Sample, cut: float, statistic: str) -> Judgement:
    x = d.rows("images", "x")
    m = float(np.mean(x) if statistic == "mean" else np.median(x))
    return Judgement(holds=m > cut, headline={"m": m}, bounds={"m": Bound(low=cut)})


def threshold_sample() -> Sample:
    x = np.random.default_rng(0).normal(0.35, 0.01, 10_000)
    x[:100] = 5.0  # outliers lift the mean above the median: median 0.35, mean ≈ 0.4
    return Sample({"images": {"x": x}})


def test_a_choice_that_flips_at_a_known_value_is_reported_at_that_value():
    data = threshold_sample()
    r = readings(threshold_judge, data, threshold_judge(data))
    assert r["enumeration"] == "all 8 combinations" and r["evaluated"] == 8
    cut = next(t for t in r["flip_table"] if t["choice"] == "cut")
    assert cut["flipping_values"] == [0.4]  # the mean is ≈ 0.40: a cut of 0.4 is the first it does not pass
    assert cut["boundary"] == "fails between cut = 0.3 and 0.4"
    assert r["flip"] == {"readings": {"cut": 0.4}, "verdict": "fails"}
    assert r["flip_text"] == "fails if cut = 0.4 (default 0.1)"
    # mean and median: the median (0.35) also fails at 0.4, and the mean-or-median grid keeps 6 of 8
    assert r["kept"] == 6 and r["kept_share"] == pytest.approx(0.75)
    rec = measure(threshold_judge, data)
    assert rec["marks"] == [DEPENDS] and rec["cell"] == f"{DEPENDS}: fails if cut = 0.4 (default 0.1)"


def test_every_value_cites_its_words():
    c = threshold_judge.choices[0].to_json()
    assert [v["words"] for v in c["values"]][:2] == ["synthetic: the default", "synthetic"]
    assert threshold_judge.choices[1].to_json()["values"][1]["words"] == "synthetic: both summarise the same values"


def test_a_span_is_a_declared_fixed_set_of_values_each_with_its_words():
    words = {0.3: "synthetic: the default", 0.0: "synthetic: the least", 1.0: "synthetic: the most"}
    c = Choice.span("x", 0.3, 0.0, 1.0, why="synthetic", words=words, between="synthetic: in between")
    assert c.options == (0.3, 0.0, 0.25, 0.5, 0.75, 1.0)
    assert [c.words_for(v) for v in c.options] == [
        "synthetic: the default",
        "synthetic: the least",
        *["synthetic: in between"] * 3,
        "synthetic: the most",
    ]
    with pytest.raises(ValueError, match="no words"):
        Choice.span("x", 0.3, 0.0, 1.0, why="synthetic", words={0.3: "the default"}, between="in between")


def test_a_large_grid_is_every_one_at_a_time_change_and_every_pair():
    choices = [Choice.values(f"c{k}", 0, list(range(5)), why="synthetic") for k in range(5)]  # 3125 combinations
    what, grid = combinations(choices)
    assert what.startswith("every one-at-a-time change and every pair")
    assert len(grid) == 1 + 5 * 4 + 10 * 16 and {len(g) for g in grid} == {0, 1, 2}
    assert len({tuple(sorted(g.items())) for g in grid}) == len(grid)
    small, full = combinations(choices[:4])
    assert small == "all 625 combinations" and len(full) == 625


def test_an_excluded_reading_is_never_evaluated():
    seen: list[str] = []

    @declare(
        "synthetic-excluded",
        Choice.among(
            "activations",
            "post",
            {"post": "synthetic: the figures", "pre": "synthetic: before the ReLU"},
            why="synthetic",
        ),
        Choice.among("corner", "lines", ("lines", "apex"), why="synthetic"),
        excluded=[
            exclude("activations", "pre", "synthetic: the figures rule it out", reading="pre-ReLU PCA"),
            ("a reading that is no declared value", "synthetic: listed only"),
        ],
        no_heldout="synthetic",
    )
    def judge(d: Sample, activations: str, corner: str) -> Judgement:
        seen.append(activations)
        return Judgement(activations == "post", {"x": 1.0})

    rec = measure(judge, Sample({"images": {"x": np.ones(10)}}), resamples=5)
    assert "pre" not in seen and rec["settled"]
    assert rec["readings"]["enumeration"] == "all 2 combinations"
    assert rec["readings"]["excluded"] == [
        {
            "reading": "pre-ReLU PCA",
            "reason": "synthetic: the figures rule it out",
            "choice": "activations",
            "values": ["pre"],
        },
        {"reading": "a reading that is no declared value", "reason": "synthetic: listed only"},
    ]
    with pytest.raises(ValueError, match="default"):
        declare("synthetic-bad", Choice.among("a", "x", ("x", "y"), why="s"), excluded=[exclude("a", "x", "r")])(
            judge.judge
        )


def holds_on_training_only():
    @declare("synthetic-heldout", no_open_choice="synthetic: the rule is fixed")
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        return Judgement(a >= 0.962, {"agreement": a}, bounds={"agreement": Bound(low=0.962)})

    return judge


def test_a_claim_that_holds_only_on_its_training_sample_does_not_replicate():
    train = agreement_sample(60_000, 59_000)  # 98.3%
    train.heldout = agreement_sample(10_000, 9_000, seed=2)  # 90%: 16 standard errors below the bound
    rec = measure(holds_on_training_only(), train)
    h = rec["heldout"]
    assert h["judged"] and h["verdict"] == "fails" and h["state"] == NOT_REPLICATED and h["sampling"] == "clear"
    assert rec["marks"] == [NOT_REPLICATED] and not rec["settled"]
    assert rec["cell"] == f"{NOT_REPLICATED} (fails on the held-out images)"


def test_a_held_out_sample_that_cannot_tell_is_within_sampling_noise_not_a_failed_replication():
    train = agreement_sample(60_000, 59_000)
    train.heldout = agreement_sample(10_000, 9_615, seed=2)  # 96.15%: under the bound, within its noise
    rec = measure(holds_on_training_only(), train)
    assert rec["heldout"]["state"] == NOISE and rec["marks"] == [NOISE] and "held-out" in rec["cell"]


def test_a_claim_that_replicates_is_settled_and_one_without_a_held_out_declaration_is_not():
    train = agreement_sample(60_000, 59_000)
    train.heldout = agreement_sample(10_000, 9_830, seed=2)
    assert measure(holds_on_training_only(), train)["settled"]
    rec = measure(holds_on_training_only(), agreement_sample(60_000, 59_000))
    assert rec["heldout"]["state"] == "not declared" and not rec["settled"] and rec["marks"] == []
    assert rec["cell"] == "held-out replication not declared"


def test_a_declaration_must_declare_choices_or_say_why_it_has_none():
    with pytest.raises(ValueError, match="no_open_choice"):
        declare("synthetic-empty")(lambda d: Judgement(True, {}))


def test_a_bound_must_be_on_a_headline_number():
    with pytest.raises(ValueError, match="headline"):
        Judgement(True, {"a": 1.0}, bounds={"b": Bound(low=0)})


# ----------------------------------------------------------------------------------------------- every view
def _record(verdict: str, rob: dict | None) -> dict:
    rec = {
        "verdict": verdict,
        "quote": "q",
        "claimed": {"x": 1},
        "accept": "a",
        "measured": {},
        "summary": "s",
        "erratum": "corrected" if verdict == "erratum" else None,
        "known_nonreproduction": None,
        "depends_on": "model",
        "family": "",
        "figures": [],
    }
    if rob is not None:
        rec["robustness"] = rob
    return rec


def _doc():
    from tests.report.documents import run_report

    data = agreement_sample(2_000, 1_925)  # 96.25%: on the edge of "within 0.1 pp of 96.2%"
    edge = measure(at_least(0.962), data)
    far = measure(threshold_judge, Sample({"images": {"x": np.full(100, 0.3)}}))
    claims = {
        "labeling-function": _record("holds", edge),
        "pca-variance": _record("holds", far),
        "class-split": _record("erratum", {**far, "verdict": "erratum"}),
        "v-shape": _record("holds", None),
    }
    claims["v-shape"]["robustness"] = undeclared("no declaration", "no declaration")
    return run_report({}, claims, {})


def test_every_view_marks_unsettled_verdicts_and_the_badge_counts_settled_holds():
    from report import render
    from report.write import verdict_table_rows

    doc = _doc()
    s = doc.summary
    # the views count "not settled" under their earlier key names: the knife edge, and m > cut flips at cut = 0.3
    assert (s.holds, s.robust_holds, s.fragile) == (3, 0, 3)
    # four records of the 26 claims: a partial document, and the badge says so before the counts
    assert render.badge_text(s) == "partial: 3 hold (0 robust) · 1 erratum"
    rows = verdict_table_rows(doc.claims)
    assert rows[0] == ("claim", "claimed", "measured", "robustness", "verdict")
    cells = {r[0]: r[3] for r in rows[1:]}
    assert cells["labeling-function"].startswith(NOISE) and "fragile" not in cells["labeling-function"]
    assert cells["pca-variance"] == f"{DEPENDS}: fails if cut = 0.3 (default 0.1)"
    assert cells["v-shape"] == "not measured (no declaration)"
    md = render.render_markdown(doc)
    assert "## Robustness" in md and "| robustness | verdict |" in md
    assert "fails if cut = 0.3" in md
    from pathlib import Path

    page = render.render_html(doc, Path("."))
    assert "<th>robustness</th>" in page and "fails if cut = 0.3" in page
    assert 'class="robustness fragile-mark"' in page


def test_without_robustness_the_report_is_unchanged():
    from report import render
    from report.write import verdict_table_rows
    from tests.report.documents import run_report

    doc = run_report({}, {"pca-variance": _record("holds", None)}, {})
    assert "robust_holds" not in doc.to_document()["summary"]
    assert render.badge_text(doc.summary) == "partial: 1 hold · 0 errata"  # one record of 26: a partial document
    assert verdict_table_rows(doc.claims)[0] == ("claim", "claimed", "measured", "verdict")
    assert "robustness" not in render.render_markdown(doc).lower()


def test_the_readme_column_comes_from_the_committed_robustness_when_a_run_did_not_measure_it(tmp_path):
    import copy
    import json

    from report.readme import verdict_table

    doc = _doc()
    committed = tmp_path / "robustness.json"
    committed.write_text(json.dumps({k: v.robustness for k, v in doc.claims.items()}))
    plain = copy.deepcopy(doc)
    for rec in plain.claims.values():
        rec.robustness = None
    assert verdict_table(plain, committed) == verdict_table(doc, committed)
    plain.claims["pca-variance"].verdict = "fails"
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
    """Two claims' judges next to their tests (labeling-function, detector-groups): both recorded, with their
    readings and flip table, intervals against bounds and the sampling state, the held-out replication (or why
    not), the label and its cell."""
    from tests.conftest import run_claims

    run = run_claims(
        pytestconfig, tmp_path, "--robustness", "--robustness-resamples", "20", "-k", "agrees_with_the_model or 48_one"
    )
    assert run.returncode == 0, run.stdout[-3000:]
    # a selection is a partial run: its report goes to <report-dir>/partial/ (the complete one is never replaced)
    claims = json.loads((tmp_path / "partial" / "claims.json").read_text())["claims"]
    assert set(claims) == {"labeling-function", "detector-groups"}
    for cid, rec in claims.items():
        rob = rec["robustness"]
        assert rob["declared"] and rob["resamples"] == 20 and rob["verdict"] == rec["verdict"], cid
        assert set(rob["intervals"]) and rob["sampling"] in ("clear", NOISE) and rob["readings"]["evaluated"] >= 2
        assert rob["readings"]["flip_table"] and rob["cell"] and set(rob["marks"]) <= {DEPENDS, NOISE, NOT_REPLICATED}
    lab = claims["labeling-function"]["robustness"]
    assert lab["statistics"]["agreement"]["bound"] and lab["heldout"]["judged"]
    assert lab["heldout"]["statistics"]["agreement"]["images"] == 10_000
    assert "robustness" in run.stdout
    assert "robust_holds" in json.loads((tmp_path / "partial" / "claims.json").read_text())["summary"]


def test_a_numeric_flip_is_named_at_the_value_nearest_the_default():
    @declare(
        "synthetic-nearest",
        Choice.span(
            "split",
            0.5,
            0.0,
            1.0,
            why="synthetic: any split inside the band",
            words={0.5: "synthetic: the middle", 0.0: "synthetic: one edge", 1.0: "synthetic: the other"},
            between="synthetic: inside the band",
        ),
        no_heldout="synthetic",
    )
    def judge(d: Sample, split: float) -> Judgement:
        return Judgement(split > 0.3, {"split": split})

    r = readings(judge, Sample({"images": {"x": np.ones(3)}}), judge(Sample({"images": {"x": np.ones(3)}})))
    assert r["flip_table"][0]["flipping_values"] == [0.0, 0.25]  # the table keeps the declared order
    assert r["flip"] == {"readings": {"split": 0.25}, "verdict": "fails"}
    assert r["flip_table"][0]["boundary"] == "fails between split = 0.5 and 0.25"


def test_an_erratum_is_judged_on_its_correction_s_bound_and_a_literal_reading_that_fails_far_away_is_clear():
    @declare("synthetic-erratum", no_open_choice="synthetic", no_heldout="synthetic")
    def judge(d: Sample) -> Judgement:
        a = float(d.mean("images", d.table("images")["hit"]))
        literal = {"as_printed": 0.36, "as_printed_0_1": 0.52}
        rule = Bound(low=0.962)
        return Judgement(
            False,
            {**literal, "corrected": a},
            erratum=a >= 0.962,
            combine="any",
            bounds={k: rule for k in literal},
            erratum_bounds={"corrected": rule},
        )

    on_edge = measure(judge, agreement_sample(60_000, 57_720))
    assert on_edge["verdict"] == "erratum" and on_edge["sampling"] == NOISE and on_edge["in_doubt"] == ["corrected"]
    far = measure(judge, agreement_sample(60_000, 59_000))
    assert far["verdict"] == "erratum" and far["sampling"] == "clear" and far["settled"]
