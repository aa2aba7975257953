"""Claim records, the pytest plugin that collects them, and the report they become (JSON, Markdown, HTML,
figures, badge)."""
