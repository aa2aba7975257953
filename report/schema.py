"""``claims.json``'s published schema (``report/claims.schema.json``, JSON Schema 2020-12) and its check.

The suite's own tests set ``EIS_VALIDATE_REPORTS=1`` (tests/conftest.py), so every document any test writes —
complete, partial, with OOD families, robustness or a matrix, in the test process or in a child ``pytest`` — is
checked against the schema when it is written. A normal run does not import jsonschema (a warm run stays fast).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).with_name("claims.schema.json")
ENV = "EIS_VALIDATE_REPORTS"


class SchemaError(ValueError):
    """A written document does not match report/claims.schema.json."""


@functools.cache
def _validator(kind: str) -> Any:
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    if kind != "claims":  # a definition of the same file (e.g. "matrix"), with the file's $defs to resolve refs
        schema = {"$schema": schema["$schema"], **schema["$defs"][kind], "$defs": schema["$defs"]}
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate(doc: Any, kind: str = "claims") -> None:
    """Raise :class:`SchemaError` listing every place where ``doc`` (``kind``: "claims" or "matrix") breaks the
    schema."""
    errors = sorted(_validator(kind).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  {'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message[:300]}" for e in errors[:20]]
        raise SchemaError(f"{kind} document does not match {SCHEMA.name}:\n" + "\n".join(lines))


def checking() -> bool:
    """True when written documents are checked (the suite's own tests)."""
    return os.environ.get(ENV, "") not in ("", "0")
