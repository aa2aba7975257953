"""The activation cache (fixtures.cache): verified reads, atomic writes, rebuilds, and one build under concurrency."""

from __future__ import annotations

import multiprocessing
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from filelock import FileLock

from fixtures import cache, files
from fixtures.cache import DIGEST_KEY, CacheDamaged, digest_arrays, load_or_build, read_cache, write_cache
from fixtures.errors import SetupError

# -------------------------------------------------------------------------------------------- helpers


def sample_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    """A few arrays of different dtypes and shapes, including an empty and a slash-named one."""
    rng = np.random.default_rng(seed)
    return {
        "pre": rng.standard_normal((7, 5)).astype(np.float32),
        "labels": rng.integers(0, 10, 7).astype(np.int8),
        "mask": rng.random(5) > 0.5,
        "one": np.array([3.25]),
        "empty": np.zeros(0, dtype=np.float64),
        "state/fc2.bias": rng.standard_normal(2).astype(np.float32),
    }


def assert_same_arrays(got: dict[str, np.ndarray], expected: dict[str, np.ndarray]) -> None:
    assert set(got) == set(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape, name
        np.testing.assert_array_equal(got[name], array)


def leftovers(folder: Path) -> list[str]:
    """Temporary files of interrupted writes (write_cache's ``.NAME.*.tmp``)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class CountingBuilder:
    """A builder that writes ``arrays`` (optionally slowly) and counts its calls."""

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, delay: float = 0.0) -> None:
        self.arrays = arrays if arrays is not None else sample_arrays()
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> None:
        with self._lock:
            self.calls += 1
        time.sleep(self.delay)
        write_cache(path, self.arrays)


def flip_byte_inside(path: Path, array: np.ndarray) -> None:
    """Flip one byte of ``array``'s stored payload inside the .npz file at ``path``."""
    data = bytearray(path.read_bytes())
    at = bytes(data).find(array.tobytes())
    assert at >= 0, "array payload not found in the file"
    data[at + array.nbytes // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def rewrite_keeping_digest(path: Path, **changes: np.ndarray) -> None:
    """Rewrite the file with some arrays replaced but the old digest kept (a silent content change)."""
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays.update(changes)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def written(tmp_path: Path, arrays: dict[str, np.ndarray] | None = None, name: str = "c.npz") -> Path:
    path = tmp_path / name
    write_cache(path, arrays if arrays is not None else sample_arrays())
    return path


# ------------------------------------------------------------------------------------- write and read


def test_write_then_read_round_trips_every_dtype_and_shape(tmp_path):
    arrays = sample_arrays()
    assert_same_arrays(read_cache(written(tmp_path, arrays)), arrays)


def test_write_creates_missing_folders_and_leaves_no_temporary_file(tmp_path):
    path = written(tmp_path / "a" / "b")
    assert path.is_file() and leftovers(path.parent) == []


def test_zero_dimensional_arrays_round_trip_with_their_shape(tmp_path):
    arrays = {"scalar": np.array(3.25), "count": np.array(7, dtype=np.int64)}
    assert_same_arrays(read_cache(written(tmp_path, arrays)), arrays)


@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (0, 28, 28)])
def test_empty_multidimensional_arrays_round_trip(tmp_path, shape):
    arrays = {"none": np.zeros(shape, dtype=np.float32)}
    assert_same_arrays(read_cache(written(tmp_path, arrays)), arrays)


def test_non_contiguous_arrays_round_trip(tmp_path):
    base = np.arange(30, dtype=np.float64).reshape(5, 6)
    arrays = {"t": base.T, "strided": base[:, ::2]}
    assert_same_arrays(read_cache(written(tmp_path, arrays)), {k: np.ascontiguousarray(v) for k, v in arrays.items()})


def test_rewriting_a_cache_replaces_its_content(tmp_path):
    path = written(tmp_path, sample_arrays(seed=1))
    write_cache(path, sample_arrays(seed=2))
    assert_same_arrays(read_cache(path), sample_arrays(seed=2))


def test_digest_depends_on_names_dtypes_shapes_and_bytes():
    a = np.arange(6, dtype=np.int32)
    base = digest_arrays({"a": a})
    assert digest_arrays({"a": a.copy()}) == base
    assert digest_arrays({"b": a}) != base
    assert digest_arrays({"a": a.astype(np.uint32)}) != base
    assert digest_arrays({"a": a.reshape(2, 3)}) != base
    assert digest_arrays({"a": a + 1}) != base


def test_reserved_array_name_is_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(ValueError, match=DIGEST_KEY):
        write_cache(path, {DIGEST_KEY: np.zeros(2)})
    assert not path.exists() and leftovers(tmp_path) == []


def test_absent_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_cache(tmp_path / "absent.npz")


def test_flipped_byte_inside_an_array_is_damage(tmp_path):
    arrays = sample_arrays()
    path = written(tmp_path, arrays)
    flip_byte_inside(path, arrays["pre"])
    with pytest.raises(CacheDamaged, match=str(path)):
        read_cache(path)


def test_array_rewritten_under_the_old_digest_is_damage(tmp_path):
    path = written(tmp_path)
    rewrite_keeping_digest(path, pre=np.zeros((7, 5), dtype=np.float32))
    with pytest.raises(CacheDamaged, match="does not match its digest"):
        read_cache(path)


def test_array_added_under_the_old_digest_is_damage(tmp_path):
    path = written(tmp_path)
    rewrite_keeping_digest(path, extra=np.ones(3))
    with pytest.raises(CacheDamaged, match="digest"):
        read_cache(path)


def test_file_without_digest_is_damage(tmp_path):
    path = tmp_path / "c.npz"
    np.savez(path, **sample_arrays())
    with pytest.raises(CacheDamaged, match="no digest"):
        read_cache(path)


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.99])
def test_truncated_file_is_damage(tmp_path, keep):
    path = written(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(CacheDamaged, match="unreadable"):
        read_cache(path)


def test_file_of_random_bytes_is_damage(tmp_path):
    path = tmp_path / "c.npz"
    path.write_bytes(np.random.default_rng(0).bytes(1000))
    with pytest.raises(CacheDamaged):
        read_cache(path)


def test_missing_required_array_is_damage_naming_it(tmp_path):
    path = written(tmp_path)
    with pytest.raises(CacheDamaged, match="missing arrays train_pre, test_pre"):
        read_cache(path, required=("pre", "train_pre", "test_pre"))
    assert set(read_cache(path, required=("pre", "mask"))) == set(sample_arrays())


# --------------------------------------------------------------------------------------- load_or_build


def test_load_or_build_builds_once_then_hits(tmp_path):
    path = tmp_path / "c.npz"
    build = CountingBuilder()
    first = load_or_build(path, build, required=("pre",))
    second = load_or_build(path, build, required=("pre",))
    assert build.calls == 1
    assert (first.status, second.status) == ("built", "hit")
    assert_same_arrays(second.arrays, build.arrays)
    assert_same_arrays(first.arrays, build.arrays)


@pytest.mark.parametrize("damage", ["flip", "truncate", "missing-required"])
def test_damaged_file_is_rebuilt_with_a_warning(tmp_path, damage):
    path = written(tmp_path, sample_arrays(seed=1))
    if damage == "flip":
        flip_byte_inside(path, sample_arrays(seed=1)["pre"])
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    required = ("pre", "logits") if damage == "missing-required" else ("pre",)
    build = CountingBuilder(dict(sample_arrays(seed=2), logits=np.zeros((7, 2))))

    with pytest.warns(UserWarning, match="damaged, rebuilding"):
        result = load_or_build(path, build, required=required)

    assert result.status == "rebuilt" and build.calls == 1
    assert_same_arrays(result.arrays, build.arrays)
    assert load_or_build(path, build, required=required).status == "hit"
    assert leftovers(tmp_path) == []


def test_a_builder_that_raises_leaves_no_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "c.npz"

    def broken(p: Path) -> None:
        raise RuntimeError("the computation failed")

    with pytest.raises(RuntimeError, match="the computation failed"):
        load_or_build(path, broken)
    assert not path.exists() and leftovers(tmp_path) == []


def test_a_write_that_fails_midway_leaves_no_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"

    def failing_fsync(fd: int) -> None:
        assert leftovers(tmp_path), "expected the temporary file to exist while writing"
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        load_or_build(path, CountingBuilder())
    assert not path.exists() and leftovers(tmp_path) == []


def test_a_failed_rewrite_keeps_the_old_complete_file(tmp_path, monkeypatch):
    path = written(tmp_path, sample_arrays(seed=1))
    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(OSError("rename failed")))
    with pytest.raises(OSError):
        write_cache(path, sample_arrays(seed=2))
    assert_same_arrays(read_cache(path), sample_arrays(seed=1))
    assert leftovers(tmp_path) == []


def test_a_builder_that_writes_nothing_is_a_setup_error_naming_the_file(tmp_path):
    path = tmp_path / "c.npz"
    with pytest.raises(SetupError, match="did not produce a valid file") as info:
        load_or_build(path, lambda p: None)
    assert str(path) in str(info.value)


def test_a_builder_that_writes_without_a_required_array_is_a_setup_error(tmp_path):
    with pytest.raises(SetupError, match="missing arrays logits"):
        load_or_build(tmp_path / "c.npz", CountingBuilder(), required=("logits",))


def test_waiting_too_long_for_the_lock_is_a_setup_error_naming_the_lock(tmp_path, monkeypatch):
    path = tmp_path / "c.npz"
    monkeypatch.setattr(cache, "LOCK_TIMEOUT_S", 0.2)
    build = CountingBuilder()
    with FileLock(str(path) + ".lock"):
        with pytest.raises(SetupError, match="another session") as info:
            load_or_build(path, build)
    assert f"{path}.lock" in str(info.value)
    assert build.calls == 0


def test_a_valid_file_is_read_without_taking_the_lock(tmp_path, monkeypatch):
    path = written(tmp_path)
    monkeypatch.setattr(cache, "LOCK_TIMEOUT_S", 0.2)
    with FileLock(str(path) + ".lock"):
        assert load_or_build(path, CountingBuilder()).status == "hit"


# ----------------------------------------------------------------------------------------- concurrency


def test_two_threads_build_once(tmp_path):
    path = tmp_path / "c.npz"
    build = CountingBuilder(delay=0.3)
    start = threading.Barrier(2)
    results: list = []

    def worker() -> None:
        start.wait()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            results.append(load_or_build(path, build, required=("pre",)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert build.calls == 1
    assert sorted(r.status for r in results) == ["built", "hit"]
    for r in results:
        assert_same_arrays(r.arrays, build.arrays)
    assert leftovers(tmp_path) == []


def _build_in_process(path: str, counter: str, delay: float) -> None:
    """Slow builder for the multi-process test: appends one line to ``counter`` per call."""
    with open(counter, "a") as fh:
        fh.write("built\n")
    time.sleep(delay)
    write_cache(Path(path), sample_arrays(seed=5))


def _process_worker(path: str, counter: str, barrier, statuses) -> None:
    barrier.wait(timeout=60)
    result = load_or_build(Path(path), lambda p: _build_in_process(str(p), counter, 0.5), required=("pre",))
    assert_same_arrays(result.arrays, sample_arrays(seed=5))
    statuses.put(result.status)


def test_two_processes_build_once(tmp_path):
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    path, counter = tmp_path / "c.npz", tmp_path / "builds.txt"
    barrier, statuses = context.Barrier(2), context.Queue()
    processes = [context.Process(target=_process_worker, args=(str(path), str(counter), barrier, statuses))
                 for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    assert counter.read_text().splitlines() == ["built"]
    assert sorted(statuses.get(timeout=5) for _ in processes) == ["built", "hit"]
    assert_same_arrays(read_cache(path), sample_arrays(seed=5))
    assert leftovers(tmp_path) == []
