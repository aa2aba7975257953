"""The report's own file writing: every report file is written to a temporary file in its folder and renamed
into place (a reader sees the old file or the new one, never half of one), and where the report folder is."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Callable

#: The project folder this engine lives in (the README and docs its rewriters keep up to date).
PROJECT_ROOT = Path(__file__).resolve().parents[1]
#: The environment twin of ``--report-dir``.
REPORT_DIR_ENV = "EIS_REPORT_DIR"
#: The default report folder, relative to the rootdir.
DEFAULT_REPORT_DIR = Path("report") / "out"


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through ``write(fh)`` into a temporary file beside it, then rename it into place (0644; on any
    error the temporary file is removed and ``path`` is untouched)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of UTF-8 text."""
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically."""

    def copy(fh: IO[bytes]) -> None:
        with open(src, "rb") as source:
            shutil.copyfileobj(source, fh)

    atomic_write(dst, copy)


def resolve_report_dir(option: str | os.PathLike[str] | None, root: Path) -> Path:
    """The report folder: ``--report-dir``, else ``$EIS_REPORT_DIR``, else ``<root>/report/out``."""
    value = option if option not in (None, "") else os.environ.get(REPORT_DIR_ENV) or None
    return Path(value).expanduser() if value is not None else Path(root) / DEFAULT_REPORT_DIR
