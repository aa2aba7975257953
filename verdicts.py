"""The verdict vocabulary: the three words and the one rule that picks among them.

``holds``: the claim as written holds; ``erratum``: it does not, and a stated faithful correction does (both
measured); ``fails``: neither. The claims engine (``report/``) records these words and the robustness engine
(``analysis/robustness.py``) compares them across resamples; both import this module, which imports nothing of
the project, so neither needs the other.
"""

VERDICTS = ("holds", "erratum", "fails")


def decide(holds: bool, erratum: bool = False) -> str:
    """``holds`` if the claim as written holds; else ``erratum`` if the stated correction holds; else ``fails``."""
    return "holds" if holds else "erratum" if erratum else "fails"
