"""Typed records and documents for the report's tests, from the short dicts the tests write (missing fields take
a record's defaults)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from claims import catalogue
from report.records import ClaimRecord, RunContext, RunReport
from report.write import build_report

CLAIM_FIELDS = {
    "verdict": "fails",
    "quote": "",
    "claimed": None,
    "accept": "",
    "measured": {},
    "summary": "",
    "erratum": None,
    "known_nonreproduction": None,
    "depends_on": "model",
    "family": "",
    "figures": [],
    "test": "",
}
PROBE_FIELDS = {
    "verdict": "fails",
    "question": "",
    "accept": "",
    "found": {},
    "summary": "",
    "known_nonreproduction": None,
    "figures": [],
    "test": "",
}


def claim_records(claims: Mapping[str, Mapping[str, Any]]) -> dict[str, ClaimRecord]:
    return {cid: ClaimRecord.from_json(cid, "claim", {**CLAIM_FIELDS, **rec}) for cid, rec in claims.items()}


def probe_records(probes: Mapping[str, Mapping[str, Any]]) -> dict[str, ClaimRecord]:
    return {pid: ClaimRecord.from_json(pid, "probe", {**PROBE_FIELDS, **rec}) for pid, rec in probes.items()}


def run_report(
    context: Mapping[str, Any] | None,
    claims: Mapping[str, Mapping[str, Any]],
    probes: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> RunReport:
    """The typed records the collector builds from these records, against the suite's catalogue."""
    ctx = RunContext(checkpoint=(context or {}).get("checkpoint", {}), data=(context or {}).get("data", {}))
    return build_report(ctx, claim_records(claims), probe_records(probes or {}), catalogue(), **kwargs)


def document(
    context: Mapping[str, Any] | None,
    claims: Mapping[str, Mapping[str, Any]],
    probes: Mapping[str, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """``claims.json`` as the collector writes it from these records."""
    return run_report(context, claims, probes, **kwargs).to_document()
