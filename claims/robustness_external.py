"""Robustness declarations of claims whose tests do not (yet) call ``verdict.judge``: filled below."""
EXTERNAL: dict = {}
