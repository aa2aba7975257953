"""The replica study (``pytest claims/ --models replicas:N``): its statistics on synthetic records, the README
section generated from the committed study, and one end-to-end comparison of a serial run with two
``--tx popen`` workers that stand in for two machines."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from analysis.replica_study import (
    benjamini_hochberg,
    classify,
    fewest_for_task,
    headline_paths,
    numbers,
    paragraph,
    rank_among,
    replica_study,
    sections,
    task_power,
    wilson_interval,
)
from claims.matrix import build_matrix
from fixtures.locate import PROJECT_ROOT
from model.counterfactuals import by_name, replica
from model.runs import ModelRun, model_run, selected
from report.replica_readme import README, STUDY_JSON, STUDY_MD, block, readme_section, with_block
from tests.conftest import claims_command

# ----------------------------------------------------------------------------------------------- Wilson


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I, method 3.
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(k, n, low, high):
    got = wilson_interval(k, n)
    assert got == pytest.approx((low, high), abs=6e-5)


def test_wilson_interval_of_all_successes_has_the_closed_form_lower_bound():
    z2 = 1.959963984540054**2
    assert wilson_interval(20, 20)[0] == pytest.approx(20 / (20 + z2), rel=1e-9)
    assert wilson_interval(20, 20)[1] == pytest.approx(1.0)


@pytest.mark.parametrize(("k", "n"), [(-1, 3), (4, 3), (True, 3)])
def test_wilson_interval_rejects_impossible_counts(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)


# ----------------------------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("recurs", "n", "keeps", "expected"),
    [
        (20, 20, True, "task"),
        (19, 20, True, "task"),  # 95%, lower bound 76%
        (18, 20, True, "varies"),  # 90%, but the lower bound is 70%
        (19, 20, False, "task"),  # recurring on the replicas, whatever the challenge network did
        (5, 20, True, "network"),  # upper bound 47%
        (6, 20, True, "varies"),  # upper bound 52%
        (0, 20, False, "fails"),  # fails everywhere, the challenge network included: its own category
        (5, 20, False, "fails"),  # fails on the challenge network and on most replicas
        (19, 20, True, "task"),
        (3, 3, True, "varies"),  # 3/3: lower bound 44%, "every" is not distinguishable from chance
        (0, 3, True, "varies"),  # 0/3: upper bound 56%
    ],
)
def test_classification_follows_the_issues_rule(recurs, n, keeps, expected):
    assert classify(recurs, n, keeps) == expected


def test_data_only_records_are_not_classified():
    assert classify(20, 20, True, data_only=True) == "data"


def test_the_rank_of_the_challenge_network_among_the_replicas_and_its_p_value():
    twenty = [float(i) for i in range(20)]
    above = rank_among(100.0, twenty)
    assert (above.rank, above.position) == (21, "above every replica")
    assert above.p_two_sided == pytest.approx(2 / 21)
    assert rank_among(100.0, [1.0, 2.0]).p_two_sided == pytest.approx(2 / 3)  # 3 networks
    middle = rank_among(9.5, twenty)
    assert middle.position == "within the replicas"
    tied = rank_among(0.0, [0.0] * 20)
    assert tied.rank == 11 and tied.p_two_sided == 1.0


def test_benjamini_hochberg_matches_the_step_up_rule():
    # Benjamini & Hochberg (1995): reject the k smallest, k the largest rank with p_(k) <= k q / m.
    p = [0.01, 0.045, 0.03, 0.005, 0.2]  # sorted: 0.005 0.01 0.03 0.045 0.2 against 0.01 0.02 0.03 0.04 0.05
    assert benjamini_hochberg(p, 0.05) == [True, False, True, True, False]  # p_(3) = 0.03 <= 3 * 0.05 / 5
    assert benjamini_hochberg([0.04] * 10, 0.05) == [True] * 10
    assert benjamini_hochberg([0.2, 0.5], 0.1) == [False, False]


def test_many_ranked_numbers_cannot_all_be_outliers_by_chance():
    """One number outside 20 replicas (p = 2/21) is flagged alone; beside two ordinary ranked numbers it is not
    (Benjamini–Hochberg: 2/21 > 0.10 / 3)."""

    def claim(value, middle):
        return {"verdict": "holds", "claimed": {}, "measured": {"x0": value, "x1": middle, "x2": middle}}

    own = {"claims": {"c": claim(100.0, 10.5)}}
    replicas = {f"task-seed{i}": {"claims": {"c": claim(float(i), float(i))}} for i in range(1, 21)}
    study = replica_study(own, replicas)
    assert study["outliers"]["outside_every_replica"] == 1 and study["outliers"]["flagged"] == []


def test_the_rules_power_is_the_binomial_chance_of_reaching_the_fewest_recurrences():
    from scipy.stats import binom

    assert fewest_for_task(20) == 19 and fewest_for_task(50) == 45 and fewest_for_task(3) is None
    assert task_power(20, 0.9) == pytest.approx(binom.sf(18, 20, 0.9))  # ~0.39, as the study's critics said
    assert task_power(50, 0.95) > task_power(20, 0.95)
    assert task_power(3, 0.99) == 0.0


# ----------------------------------------------------------------------------------------------- records


def _claim(verdict, depends_on="model", **measured):
    return {"verdict": verdict, "claimed": {"agreement": 0.962}, "measured": measured, "depends_on": depends_on}


def test_every_record_section_is_studied_including_ones_added_later():
    doc = {
        "schema_version": 1,
        "checkpoint": {"sha256": "x"},
        "summary": {"holds": 1},
        "claims": {"labeling-function": _claim("holds", agreement=0.96)},
        "probes": {"algebra": {"verdict": "holds", "found": {"max_linearity_error": 1e-11}}},
        "ood": {"rotated": {"verdict": "fails", "measured": {"agreement": 0.7}}},
    }
    assert list(sections(doc)) == ["claims", "probes", "ood"]
    replicas = {
        f"task-seed{i}": {**doc, "ood": {"rotated": {"verdict": "holds", "measured": {"agreement": 0.9}}}}
        for i in (1, 2, 3)
    }
    study = replica_study(doc, replicas)
    assert study["records"]["ood"]["rotated"]["counts"] == {"holds": 3, "erratum": 0, "fails": 0}
    assert study["records"]["ood"]["rotated"]["headlines"]["agreement"]["challenge"] == 0.7
    assert "ood/rotated" in study["by_category"]["varies"]  # 3/3 is not enough for "task"


def test_the_beyond_the_data_families_are_studied_in_the_claims_words():
    """claims.json's real ``ood`` section keeps its records under ``families`` with their own verdict words:
    *generalises* recurs like *holds*, *breaks* counts as *fails*; the far-from-threshold agreement is the headline."""

    def doc(verdict: str, far: float) -> dict:
        return {
            "claims": {"labeling-function": _claim("holds", agreement=0.96)},
            "ood": {
                "rule": {"margin_s": 3056.0},
                "summary": {"generalises": 1},
                "families": {"salt": {"verdict": verdict, "far_agreement": far, "agreement": 0.8, "n": 2000}},
            },
        }

    replicas = {f"task-seed{i}": doc("generalises" if i < 3 else "breaks", 0.9 + i / 100) for i in (1, 2, 3)}
    study = replica_study(doc("breaks", 0.936), replicas)
    salt = study["records"]["ood"]["salt"]
    assert salt["counts"] == {"holds": 2, "erratum": 0, "fails": 1}
    assert salt["challenge_verdict"] == "fails"
    assert salt["headlines"]["far_agreement"]["challenge"] == 0.936
    assert salt["headlines"]["far_agreement"]["replicas"] == {
        "task-seed1": 0.91,
        "task-seed2": 0.92,
        "task-seed3": 0.93,
    }


def test_headlines_fall_back_to_the_claimed_keys_then_the_first_numbers():
    rec = {"verdict": "holds", "claimed": {"one": 48, "dead": 121}, "measured": {"x": 1, "one": 46, "n": {"dead": 122}}}
    assert headline_paths("a-new-claim", rec) == ("one", "n.dead")
    rec = {
        "verdict": "holds",
        "claimed": "words",
        "measured": {"a": 1, "b": True, "c": [1, 2], "d": {"e": 2.5}, "f": 3, "g": 4},
    }
    assert numbers(rec) == {"a": 1.0, "d.e": 2.5, "f": 3.0, "g": 4.0}  # no booleans, no lists
    assert headline_paths("another", rec) == ("a", "d.e", "f")
    # A listed headline missing from the record (a changed schema) falls back instead of vanishing.
    assert headline_paths("pca-variance", {"verdict": "holds", "measured": {"total": 0.9}}) == ("total",)
    assert headline_paths("algebra", {"verdict": "holds", "found": {"max_linearity_error": 3e-11}}) == ()


def test_recurrence_counts_holds_and_errata_separately_and_ignores_missing_runs():
    own = {"claims": {"c": _claim("erratum", agreement=0.99)}}
    verdicts = ["holds"] * 17 + ["erratum"] * 2 + ["fails"]
    replicas = {
        f"task-seed{i + 1}": {"claims": {"c": _claim(v, agreement=0.9 + i / 1000)}} for i, v in enumerate(verdicts)
    }
    replicas["task-seed21"] = {}  # its run produced no records
    study = replica_study(own, replicas)
    c = study["records"]["claims"]["c"]
    assert study["n"] == 20 and study["missing"] == ["task-seed21"]
    assert c["counts"] == {"holds": 17, "erratum": 2, "fails": 1}
    assert c["fractions"]["recurs"]["count"] == 19 and c["category"] == "task"
    assert c["fractions"]["holds"]["high"] < 1 and c["fractions"]["erratum"]["count"] == 2
    head = c["headlines"]["agreement"]
    assert head["rank"] == 21 and head["outlier"] and head["position"] == "above every replica"
    text = paragraph(study)
    assert "**Properties of the task**" in text and "`c` 19/20 (95%, CI 76%–99%)" in text
    assert "outlier" in text and "task-seed21" in text


def test_a_claim_only_the_challenge_network_keeps_is_a_property_of_this_network():
    own = {"claims": {"c": _claim("holds", agreement=0.962)}}
    replicas = {
        f"task-seed{i}": {"claims": {"c": _claim("holds" if i <= 2 else "fails", agreement=0.95)}} for i in range(1, 21)
    }
    study = replica_study(own, replicas)
    assert study["by_category"]["network"] == ["c"]
    assert "**Properties of this network**" in paragraph(study) and "`c` 2/20" in paragraph(study)


def test_a_claim_failing_on_every_network_has_its_own_category():
    own = {"claims": {"c": _claim("fails", agreement=0.9)}}
    replicas = {f"task-seed{i}": {"claims": {"c": _claim("fails", agreement=0.9)}} for i in range(1, 21)}
    study = replica_study(own, replicas)
    assert study["by_category"]["fails"] == ["c"]
    assert "**Fail on (nearly) every network**" in paragraph(study) and "`c` 0/20 (0%, CI 0%–16%)" in paragraph(study)


def test_each_network_is_judged_at_its_own_fit_and_the_as_written_recurrence_is_shown_beside():
    """A claim that fails on the replicas at the challenge network's band but holds at each one's own band is a
    property of the task; the as-written recurrence stays visible."""
    own = {"claims": {"c": _claim("holds", agreement=0.962)}}
    written = {f"task-seed{i}": {"claims": {"c": _claim("fails", agreement=0.95)}} for i in range(1, 21)}
    at_fit = {f"task-seed{i}": {"claims": {"c": _claim("holds", agreement=0.96)}} for i in range(1, 21)}
    study = replica_study(own, written, original_own=own, own=at_fit)
    c = study["records"]["claims"]["c"]
    assert c["category"] == "task" and c["as_written"]["recurs"]["count"] == 0
    assert c["judged"] == "at own fit" and "(as written 0/20" in study["paragraph"]
    # A record about the fit itself is judged as written; one stating a network's own number is specific.
    probe = {"verdict": "holds", "found": {"gain_pp": 0.1}}
    docs = {n: {"claims": {"detector-groups": _claim("fails")}, "probes": {"local-optimum": probe}} for n in written}
    flipped = {
        n: {"claims": {"detector-groups": _claim("holds")}, "probes": {"local-optimum": {**probe, "verdict": "fails"}}}
        for n in written
    }  # noqa: E501
    mine = {"claims": {"detector-groups": _claim("holds")}, "probes": {"local-optimum": probe}}
    study = replica_study(mine, flipped, original_own=mine, own=docs)
    assert study["records"]["probes"]["local-optimum"]["counts"]["fails"] == 20  # as written
    assert study["by_category"]["specific"] == ["detector-groups"]


def test_arms_are_studied_apart_and_compared_with_the_main_arm():
    own = {"claims": {"c": _claim("holds", agreement=0.962)}}
    task = {f"task-seed{i}": {"claims": {"c": _claim("holds")}} for i in range(1, 21)}
    band = {f"band-seed{i}": {"claims": {"c": _claim("fails")}} for i in range(1, 21)}
    arms = {**{n: "task" for n in task}, **{n: "band" for n in band}}
    study = replica_study(own, {**task, **band}, arms=arms)
    assert study["n"] == 20 and study["arms"]["band"]["n"] == 20
    assert study["records"]["claims"]["c"]["arms"]["band"]["fractions"]["recurs"]["count"] == 0
    (row,) = study["arm_differences"]
    assert row["differs"] and row["p"] < 1e-9


def test_data_only_claims_are_listed_apart():
    own = {"claims": {"class-split": _claim("holds", depends_on="data", one_like=17111)}}
    replicas = {f"task-seed{i}": own for i in (1, 2)}
    assert replica_study(own, replicas)["by_category"]["data"] == ["class-split"]


# ----------------------------------------------------------------------------------------------- --models


def test_models_replicas_n_names_seeds_one_to_n_in_each_arm():
    assert [cf.name for cf in selected("replicas:4")] == [f"task-seed{i}" for i in range(1, 5)]
    assert [cf.seed for cf in selected("replicas:20")] == list(range(1, 21))
    combined = [cf.name for cf in selected("small,replicas:2,task-seed2")]
    assert combined == ["untrained", "silenced-anti-one", "task-seed1", "task-seed2"]
    assert by_name("task-seed7") == replica(7) and by_name("band-seed7") == replica(7, "band")
    assert [cf.name for cf in selected("replicas-band:2")] == ["band-seed1", "band-seed2"]
    recipes = selected("replicas-recipes:20")
    assert len({cf.name for cf in recipes}) == 20 and all(cf.arm == "recipes" for cf in recipes)
    assert all(by_name(cf.name) == cf for cf in recipes)
    assert selected("full")[-3:] == tuple(replica(s, "band") for s in (1, 2, 3))


@pytest.mark.parametrize(
    "option", ["replicas:0", "replicas:x", "replicas:", "replicas:-2", "task-seed0", "replicas-recipes:21"]
)
def test_bad_replica_counts_are_usage_errors(option):
    with pytest.raises(ValueError, match="--models"):
        selected(option)


def test_build_matrix_adds_the_study_only_with_replicas():
    own = {"labeling-function": _claim("holds", agreement=0.962)}
    runs = {
        f"task-seed{i}": ModelRun(
            f"task-seed{i}", 0, {"claims": {"labeling-function": _claim("fails", agreement=0.95)}}, ""
        )
        for i in (1, 2)
    }
    matrix = build_matrix(own, {}, runs, selected("replicas:2"), original_doc={"claims": own})
    assert matrix["replica_study"]["replicas"] == ["task-seed1", "task-seed2"]
    assert matrix["replicas"]["paragraph"] == paragraph(matrix["replica_study"])
    assert "replica_study" not in build_matrix(own, {}, {}, selected("small"))


def test_a_model_run_from_an_earlier_session_is_not_reused(tmp_path, monkeypatch):
    """On a remote worker the report folder is never cleaned by the controller: the session token decides."""
    import model.runs as matrix

    calls = []

    class Proc:
        returncode = 0
        stdout = stderr = ""

    def fake_run(cmd, **kw):
        calls.append(cmd)
        out = Path(cmd[cmd.index("--report-dir") + 1])  # the fresh folder beside the model's last run
        out.mkdir(parents=True, exist_ok=True)
        (out / "claims.json").write_text(json.dumps({"claims": {"c": {"verdict": "holds"}}}))
        return Proc()

    monkeypatch.setattr(matrix.subprocess, "run", fake_run)
    inputs = type("I", (), {"cache_dir": tmp_path})()
    checkpoints = matrix.Checkpoints(
        build=lambda cf: tmp_path / "w.pt", unloadable=lambda p: None, discard=lambda p: None
    )
    cf = replica(1)

    def run(session: str) -> None:
        model_run(
            cf,
            checkpoints,
            lambda doc: bool(doc.get("claims")),
            tmp_path,
            session,
            project=tmp_path,
            inputs=inputs,
            data_dir=tmp_path,
            warn=lambda m: None,
        )

    run("session-a")
    run("session-a")
    assert len(calls) == 1  # reused within the session
    assert "-m" not in calls[0][calls[0].index("claims/") :]  # a replica runs the probes too
    run("session-b")
    assert len(calls) == 2


# ----------------------------------------------------------------------------------------------- the README


def test_the_readme_section_is_generated_from_the_committed_study():
    """Cheap and deterministic: no training. After a new study, `python -m report.replica_readme` updates all three."""
    study = json.loads(STUDY_JSON.read_text())
    expected = readme_section(study)
    assert STUDY_MD.read_text() == expected, "docs/replica-study.md is stale: python -m report.replica_readme"
    assert block(README.read_text()) == expected.rstrip("\n"), (
        "README's replica section is stale: python -m report.replica_readme"
    )


def test_readme_block_replacement_keeps_the_rest():
    text = "a\n<!-- replicas:start -->\nold\n<!-- replicas:end -->\nb\n"
    assert with_block(text, "new\n") == "a\n<!-- replicas:start -->\nnew\n<!-- replicas:end -->\nb\n"
    with pytest.raises(ValueError, match="markers"):
        block("no markers here")


# ----------------------------------------------------------------------------------------------- end to end


@pytest.mark.needs_data
@pytest.mark.slow
def test_two_tx_workers_give_the_same_replica_study_as_a_serial_run(pytestconfig, tmp_path):
    """``--tx popen --tx popen`` stands in for two machines: each worker writes into its own report folder (as
    a remote machine would, on its own disk), so the controller can only build the study from what xdist's
    transport carries back. The cache is shared (on several machines: a shared --cache-dir, see README), and
    each replica's claims run happens on exactly one worker."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env.pop("EIS_REPORT_DIR", None)
    serial_dir, tx_dir, w1, w2 = (tmp_path / n for n in ("serial", "tx", "machine1", "machine2"))
    serial = subprocess.run(
        claims_command(pytestconfig, "--models", "replicas:2", "--report-dir", str(serial_dir)),
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert (serial_dir / "matrix.json").exists(), serial.stdout[-3000:] + serial.stderr[-2000:]
    distributed = subprocess.run(
        claims_command(
            pytestconfig,
            "--models",
            "replicas:2",
            "--dist",
            "loadgroup",
            "--tx",
            f"popen//env:EIS_REPORT_DIR={w1}",
            "--tx",
            f"popen//env:EIS_REPORT_DIR={w2}",
        ),
        cwd=PROJECT_ROOT,
        env={**env, "EIS_REPORT_DIR": str(tx_dir)},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert (tx_dir / "matrix.json").exists(), distributed.stdout[-3000:] + distributed.stderr[-2000:]
    assert distributed.returncode == serial.returncode
    ran_on = {
        name: [w.name for w in (w1, w2) if (w / "models" / name / "claims.json").exists()]
        for name in ("task-seed1", "task-seed2")
    }
    assert all(len(where) == 1 for where in ran_on.values()), ran_on  # each replica on exactly one worker
    assert not (tx_dir / "models").exists()  # the controller ran no model itself
    serial_study = json.loads((serial_dir / "matrix.json").read_text())["replica_study"]
    tx_study = json.loads((tx_dir / "matrix.json").read_text())["replica_study"]
    assert tx_study["n"] == 2 and tx_study["missing"] == []
    assert tx_study == serial_study
    assert "Replica study" in (tx_dir / "claims.md").read_text()
    assert (tx_dir / "replica-study.md").read_text() == readme_section(tx_study)
    assert 'id="figure-replica-recurrence"><img src="data:image/png' in (tx_dir / "index.html").read_text()


def test_an_uninformative_family_is_left_out_of_the_recurrence_and_listed():
    """A family a one-answer network passes is no evidence: its passes are not counted (and are listed); a break
    on it still counts as a break."""

    def doc(verdict: str, informative: bool) -> dict:
        return {
            "claims": {"labeling-function": _claim("holds", agreement=0.96)},
            "ood": {
                "families": {
                    "invert": {"verdict": verdict, "informative": informative, "far_agreement": 1.0},
                    "salt": {"verdict": "breaks", "informative": True, "far_agreement": 0.9},
                }
            },
        }

    replicas = {
        "task-seed1": doc("generalises", False),
        "task-seed2": doc("breaks", False),
        "task-seed3": doc("generalises", True),
    }
    study = replica_study(doc("generalises", False), replicas)
    invert = study["records"]["ood"]["invert"]
    assert invert["n"] == 2 and invert["counts"] == {"holds": 1, "erratum": 0, "fails": 1}
    assert invert["challenge_verdict"] is None
    assert study["uninformative"] == {"ood/invert": ["original", "task-seed1"]}
    assert "Not counted, uninformative" in paragraph(study) and "`ood/invert` on 2 networks" in paragraph(study)
