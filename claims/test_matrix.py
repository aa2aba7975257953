"""Claims × models (``pytest claims/ --models small|full``; add ``-n auto`` to run one model per worker).

Every claim is run on counterfactual checkpoints and retrained replicas (``model/counterfactuals.py``, with
their predictions written before measuring). A model's test checks that its claims run completed; the
verdicts themselves are findings, shown in ``matrix.json`` and the report. A claim no counterfactual can
break would pass for any network: the sensitivity tests flag it.
"""

from __future__ import annotations

import pytest

from claims import catalogue
from claims.matrix import MODEL_RUNS, load_explained_insensitivity, run_model, transport
from claims.probe_settings import active_profile
from model.counterfactuals import ORIGINAL_AT_OWN_FIT, is_replica
from model.runs import ALL_COUNTERFACTUALS, is_counterfactual, judges_sensitivity, selected
from report.claim import xfail
from report.plugin import record_section

pytestmark = [pytest.mark.matrix, pytest.mark.needs_data]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    models = selected(metafunc.config.getoption("models"))
    if "model" in metafunc.fixturenames:
        metafunc.parametrize(
            "model", [pytest.param(cf, id=cf.name, marks=[pytest.mark.slow] if cf.slow else []) for cf in models]
        )
    if "claim_id" in metafunc.fixturenames:
        metafunc.parametrize("claim_id", catalogue().model_dependent)


@pytest.fixture(scope="session")
def models(pytestconfig):
    return selected(pytestconfig.getoption("models"))


@pytest.fixture(scope="session")
def session_token(pytestconfig) -> str:
    """This session's token (the same on every xdist worker): model runs are reused within the session only."""
    return pytestconfig.pluginmanager.get_plugin("eis-matrix-session").token


def test_the_claims_run_on(model, prepared, groups, report_dir, session_token, request):
    """Trains the model if needed (replicas: once per recipe and seed, in the shared cache), runs the claims
    on it, and ships its records to the controller with this test's report (xdist carries them from any
    worker, local or remote)."""
    fits = ("as-written", "own") if is_replica(model) else ("as-written",)  # a replica: also at its own fit
    for fit in fits:
        run = run_model(
            model,
            prepared,
            groups,
            report_dir,
            session_token,
            request.config.rootpath,
            fit,
            active_profile(request.config),
        )
        if run.document:
            record_section(request, MODEL_RUNS, transport(run))
        assert set(run.verdicts) == set(catalogue().claim_ids), (
            f"the claims run on {run.name} did not complete:\n{run.output}"
        )
    for cid in catalogue().data_only:  # the data did not change, so neither can a data-only verdict
        assert run.verdicts[cid] == run.document["claims"][cid]["verdict"]


def test_the_checkpoint_under_test_at_its_own_fit(models, prepared, groups, report_dir, session_token, request):
    """With replicas, the checkpoint under test runs again at its own fit (``original@own``): each replica's own-fit
    judgement is compared with the challenge network's own, never with a band fitted to one of them."""
    if not any(is_replica(cf) for cf in models):
        pytest.skip("only the replica study compares networks at their own fit")
    run = run_model(
        ORIGINAL_AT_OWN_FIT,
        prepared,
        groups,
        report_dir,
        session_token,
        request.config.rootpath,
        "own",
        active_profile(request.config),
    )
    if run.document:
        record_section(request, MODEL_RUNS, transport(run))
    assert set(run.verdicts) == set(catalogue().claim_ids), f"the own-fit run did not complete:\n{run.output}"


def test_some_counterfactual_breaks(claim_id, models, prepared, groups, report_dir, session_token, pytestconfig):
    if not judges_sensitivity(models):
        pytest.skip(
            f"sensitivity is judged over every counterfactual ({', '.join(ALL_COUNTERFACTUALS)}): --models full"
        )
    verdicts = {
        cf.name: run_model(
            cf, prepared, groups, report_dir, session_token, pytestconfig.rootpath, profile=active_profile(pytestconfig)
        ).verdicts.get(claim_id)
        for cf in models
        if is_counterfactual(cf)
    }
    explained = load_explained_insensitivity().get(claim_id)
    if explained and "fails" not in verdicts.values():
        xfail(f"insensitive, explained in claims/known_nonreproductions.toml: {explained}")
    assert "fails" in verdicts.values(), (
        f"{claim_id} is insensitive: it does not fail on any counterfactual ({verdicts}), so it cannot tell this "
        "network from a broken one"
    )
