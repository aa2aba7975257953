"""A network with no mechanism at all must get verdicts, not errors: every claim of a dead network (no neuron ever
fires) is measured and concluded — the claims about the V, the groups and their contributions fail, saying why."""

from __future__ import annotations

import json

import pytest

from claims import catalogue
from fixtures.checkpoint import load_state, save_state
from fixtures.locate import resolve_checkpoint

CLAIM_IDS = catalogue().claim_ids
from tests.conftest import run_claims  # noqa: E402

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]


def test_a_dead_network_gets_a_verdict_for_every_claim(pytestconfig, tmp_path):
    state = load_state(resolve_checkpoint(pytestconfig.getoption("weights"), allow_download=False).path)
    state["fc1.bias"] = state["fc1.bias"] - 1e4  # every fc1 unit below zero on every image
    weights = tmp_path / "dead.pt"
    save_state(state, weights)
    run = run_claims(pytestconfig, tmp_path / "report", "-m", "not probe", "--weights", str(weights))
    document = json.loads((tmp_path / "report" / "partial" / "claims.json").read_text())  # no probes: a partial run
    verdicts = {k: v["verdict"] for k, v in document["claims"].items()}
    assert set(verdicts) == set(CLAIM_IDS)
    assert " error" not in run.stdout.splitlines()[-1], run.stdout[-3000:]  # failures, never errors
    for cid in ("v-shape", "one-way-neurons", "dla-exclusive", "detector-groups", "feature-visualisation"):
        assert verdicts[cid] == "fails", (cid, document["claims"][cid]["summary"])
    assert verdicts["class-split"] == "holds"  # the data did not change
