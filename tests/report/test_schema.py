"""report/claims.schema.json: the published schema of claims.json and matrix.json, and what it rejects."""

from __future__ import annotations

import copy
import json

import pytest

from report.schema import SCHEMA, SchemaError, validate
from tests.report.documents import document as build_document

CONTEXT = {
    "checkpoint": {"path": "../shared/models/mnist_model.pt", "sha256": "ab" * 32, "challenge": True},
    "data": {"train": 600, "test": 100, "dir": "~/mnist", "canonical_mnist": True},
}


def record(verdict: str = "holds", **overrides) -> dict:
    rec = {
        "verdict": verdict,
        "quote": "q",
        "claimed": 1,
        "accept": "a",
        "measured": {"x": 1.5},
        "summary": "s",
        "erratum": "the correction" if verdict == "erratum" else None,
        "known_nonreproduction": None,
        "depends_on": "model",
        "family": "pca",
        "figures": ["figures/v-shape.png"],
        "test": "claims/test_geometry.py::test_v",
        "rerun": "pytest claims/test_geometry.py::test_v",
    }
    return {**rec, **overrides}


def test_the_schema_is_a_valid_json_schema_and_accepts_a_partial_document():
    json.loads(SCHEMA.read_text(encoding="utf-8"))
    doc = build_document(copy.deepcopy(CONTEXT), {"v-shape": record(), "pca-variance": record("erratum")}, {})
    assert doc["summary"]["complete"] is False
    validate(doc)


@pytest.mark.parametrize(
    "breakage, where",
    [
        (lambda d: d["checkpoint"].update(path="/home/me/model.pt"), "checkpoint/path"),
        (lambda d: d["data"].update(dir="C:\\data"), "data/dir"),
        (lambda d: d["claims"]["v-shape"].pop("test"), "claims/v-shape"),
        (lambda d: d["claims"]["v-shape"].update(verdict="maybe"), "claims/v-shape/verdict"),
        (lambda d: d["claims"]["v-shape"].update(erratum=None, verdict="erratum"), "claims/v-shape/erratum"),
        (lambda d: d["summary"].pop("missing"), "summary"),
    ],
    ids=[
        "absolute-path",
        "windows-path",
        "no-node-id",
        "unknown-verdict",
        "erratum-without-correction",
        "partial-without-missing",
    ],
)
def test_the_schema_rejects(breakage, where):
    doc = build_document(copy.deepcopy(CONTEXT), {"v-shape": record()}, {})
    breakage(doc)
    with pytest.raises(SchemaError, match=where):
        validate(doc)


def test_a_matrix_document_is_checked_against_its_definition():
    matrix = {
        "schema_version": 1,
        "original": dict(CONTEXT["checkpoint"]),
        "models": ["original", "untrained"],
        "claims": {
            "v-shape": {
                "depends_on": "model",
                "verdicts": {"original": "holds", "untrained": "fails"},
                "broken_by": ["untrained"],
                "insensitive": None,
            }
        },
        "predictions": {},
        "sensitivity_judged": False,
        "insensitive": [],
    }
    validate(matrix, "matrix")
    matrix["claims"]["v-shape"]["verdicts"]["untrained"] = "broken"
    with pytest.raises(SchemaError, match="verdicts/untrained"):
        validate(matrix, "matrix")
