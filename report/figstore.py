"""Figures drawn once and remembered: :class:`FigureStore` keys every figure by a digest of its inputs, the
drawing code (a module of drawing functions, named by the project) and matplotlib's version, and copies a cached
PNG instead of drawing it again."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from report.files import atomic_copy


def portable(obj: Any) -> Any:
    """A figure input as it is the same on every machine: float64 arrays and floats rounded to the significant
    digits a record keeps (:data:`report.records.SIGNIFICANT_DIGITS`), through arrays, containers and dataclasses.
    Inputs that differ only by another CPU's rounding (a PCA through other BLAS kernels) then draw the same figure,
    so ``index.html`` is the same byte for byte."""
    from report.records import SIGNIFICANT_DIGITS

    if isinstance(obj, np.ndarray):
        if obj.dtype != np.float64:
            return obj
        out = obj.copy()
        finite = np.isfinite(out) & (out != 0)
        magnitude = np.floor(np.log10(np.abs(out[finite])))
        scale = 10.0 ** (SIGNIFICANT_DIGITS - 1 - magnitude)
        out[finite] = np.round(out[finite] * scale) / scale
        return out
    if isinstance(obj, (float, np.floating)) and not isinstance(obj, bool):
        return float(f"{float(obj):.{SIGNIFICANT_DIGITS}g}")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.replace(
            obj, **{f.name: portable(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
        )
    if isinstance(obj, dict):
        return {k: portable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(portable(v) for v in obj) if isinstance(obj, list) or type(obj) is tuple else obj
    return obj


def _feed(h: Any, obj: Any) -> None:
    """Feed any figure input (arrays, numbers, strings, containers, dataclasses) into a hash."""
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd{a.dtype.str}{a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__name__.encode())
        for f in dataclasses.fields(obj):
            _feed(h, f.name)
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=str):
            _feed(h, str(k))
            _feed(h, obj[k])
        h.update(b"}")
    elif isinstance(obj, (list, tuple)):
        h.update(b"[")
        for v in obj:
            _feed(h, v)
        h.update(b"]")
    elif obj is None or isinstance(obj, (str, int, float, bool, np.generic)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    else:
        raise TypeError(f"cannot digest a figure input of type {type(obj).__name__}")


def _code_version(module: str) -> str:
    """The drawing code (the source of ``module``) and matplotlib's version, read without importing either."""
    from importlib.metadata import version

    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"no drawing module {module!r}")
    return hashlib.sha256(Path(spec.origin).read_bytes() + version("matplotlib").encode()).hexdigest()


def _is_png(path: Path) -> bool:
    """A complete, undamaged PNG: Pillow's verify() checks every chunk's CRC, so a cached figure with flipped
    bytes is drawn again instead of being copied into the report (a few ms a figure)."""
    if not path.is_file():
        return False
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.format != "PNG":
                return False
            image.verify()
    except Exception:  # Pillow raises many types for damaged files; any of them means "draw it again"
        return False
    return True


def draw_figure(module: str, draw: str, args: tuple, kwargs: dict, target: Path, cached: Path | None) -> str:
    """Draw ``<module>.<draw>(*args, **kwargs)`` into ``target`` (and the cache) with the module's ``save``; runs
    in the drawing process."""
    figures = importlib.import_module(module)
    rel = figures.save(getattr(figures, draw)(*args, **kwargs), target)
    if cached is not None:
        atomic_copy(target, cached)
    return rel


#: Drawing processes started ahead of the store that will use them (:func:`start_drawing_process`), by module.
_STARTED: dict[str, Any] = {}


def _drawing_pool() -> Any:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the test process holds BLAS threads, which a forked child may deadlock on
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


def start_drawing_process(module: str) -> None:
    """Start the process that will draw ``module``'s figures, and its imports (~0.7 s), before any
    :class:`FigureStore` exists: for a caller that knows early that figures will be drawn (a run computing a new
    input, say). The first store of ``module`` that draws in the background takes it over."""
    if module not in _STARTED:
        _STARTED[module] = _drawing_pool()
        _STARTED[module].submit(importlib.import_module, module)


def stop_drawing_process(module: str) -> None:
    """Let a process started by :func:`start_drawing_process` that no store took over go (the run ends early)."""
    pool = _STARTED.pop(module, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


class FigureStore:
    """Draws figures into ``<report-dir>/figures`` and remembers them in the cache folder, keyed by a digest
    of the drawing code, matplotlib's version and every input: the same inputs give the same bytes, so a warm
    run copies instead of re-drawing (~0.5 s a figure, and ~0.5 s to import matplotlib at all).

    Figures not in the cache are drawn by one background process while the claims go on computing (about 2 s of
    a cold run's drawing overlaps with its analysis on the second core). :meth:`finish` waits for them; the
    session fixture calls it before the report embeds the files. ``background=False`` draws in-process.
    """

    def __init__(self, report_dir: Path, cache_dir: Path | None, module: str, background: bool = True) -> None:
        self.report_dir = Path(report_dir)
        self.cache_dir = Path(cache_dir) / "figures" if cache_dir is not None else None
        self.module = module  # the drawing functions, and their ``save(figure, path) -> relative path``
        self._code = _code_version(module)
        self._background = background
        self._pool: Any = None
        self._pending: dict[str, Any] = {}

    def render(self, name: str, draw: str, *args: Any, **kwargs: Any) -> str:
        """Write ``figures/<name>.png`` drawn by ``<module>.<draw>(*args, **kwargs)``; return its
        path relative to the report folder (the file exists once :meth:`finish` returns)."""
        target = self.report_dir / "figures" / f"{name}.png"
        args, kwargs = portable(list(args)), portable(kwargs)
        cached = None
        if self.cache_dir is not None:
            h = hashlib.blake2b(digest_size=16)
            _feed(h, [name, draw, self._code, list(args), kwargs])
            cached = self.cache_dir / f"{name}-{h.hexdigest()}.png"
            if _is_png(cached):
                atomic_copy(cached, target)
                return f"figures/{target.name}"
        if not self._background:
            return draw_figure(self.module, draw, args, kwargs, target, cached)
        self._pending[name] = self._drawing_process().submit(
            draw_figure, self.module, draw, args, kwargs, target, cached
        )
        return f"figures/{target.name}"

    def _drawing_process(self) -> Any:
        if self._pool is None:
            self._pool = _STARTED.pop(self.module, None) or _drawing_pool()
        return self._pool

    def finish(self) -> None:
        """Wait for every figure being drawn; raise one error naming each figure that could not be drawn."""
        failures = []
        for name, job in self._pending.items():
            try:
                job.result()
            except Exception as exc:  # report every figure, not only the first
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
        self._pending.clear()
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        if failures:
            raise RuntimeError("figures could not be drawn:\n" + "\n".join(failures))
