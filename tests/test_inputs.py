"""Finding and checking the run's inputs: MNIST files (fixtures.mnist), where data, checkpoint and cache come
from (fixtures.locate), and what a user sees when one is wrong (the claims suite run through pytest itself).

Everything here works on synthetic IDX files and temporary folders; downloads are replaced by fakes, so no
test touches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fixtures import locate
from fixtures.errors import SetupError
from fixtures.mnist import EXPECTED_SHAPES, FILES, MNIST, load_mnist, missing_files, parse_idx, raw_dir

# ================================================================================ synthetic IDX files


def idx_header(shape: tuple[int, ...], type_code: int = 0x08) -> bytes:
    return bytes([0, 0, type_code, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in shape)


def idx_bytes(array: np.ndarray) -> bytes:
    a = np.ascontiguousarray(array, dtype=np.uint8)
    return idx_header(a.shape) + a.tobytes()


def write_file(path: Path, data: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        data = gzip.compress(data, compresslevel=1)
    path.write_bytes(data)
    return path


def synthetic_labels(key: str, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 10, EXPECTED_SHAPES[key], dtype=np.uint8)


#: Small stand-ins for MNIST's shapes: load_mnist checks the shapes of ``fixtures.mnist.EXPECTED_SHAPES``.
TINY_SHAPES = {"train_images": (60, 28, 28), "train_labels": (60,), "test_images": (10, 28, 28), "test_labels": (10,)}


@pytest.fixture
def tiny_mnist_shapes(monkeypatch) -> None:
    """Let load_mnist accept a 60 + 10 image set, so error paths need no 47 MB files."""
    for key, shape in TINY_SHAPES.items():
        monkeypatch.setitem(EXPECTED_SHAPES, key, shape)


@pytest.fixture(scope="module")
def zero_images(tmp_path_factory) -> dict[str, Path]:
    """Full-size, all-zero image files of MNIST's exact shapes (sparse files, written once per module)."""
    folder = tmp_path_factory.mktemp("zero-images")
    paths = {}
    for key in ("train_images", "test_images"):
        shape = EXPECTED_SHAPES[key]
        path = folder / FILES[key]
        header = idx_header(shape)
        with open(path, "wb") as fh:
            fh.write(header)
            fh.truncate(len(header) + int(np.prod(shape)))
        paths[key] = path
    return paths


def make_mnist(root: Path, labels: dict[str, np.ndarray] | None = None, gz: tuple[str, ...] = (),
               skip: tuple[str, ...] = (), images: dict[str, Path] | None = None) -> Path:
    """A synthetic MNIST root (``root/MNIST/raw``) of the current EXPECTED_SHAPES: zero images (or symlinks to
    ``images``), random labels unless given. ``gz`` names files written gzipped; ``skip`` names files left out.
    """
    raw = raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    labels = labels or {}
    for key, name in FILES.items():
        if key in skip:
            continue
        if images and key in images:
            (raw / name).symlink_to(images[key])
        elif key.endswith("images"):
            write_file(raw / name, idx_bytes(np.zeros(EXPECTED_SHAPES[key], dtype=np.uint8)), gz=key in gz)
        else:
            write_file(raw / name, idx_bytes(labels.get(key, synthetic_labels(key))), gz=key in gz)
    return root


def touch_mnist(root: Path) -> Path:
    """Four empty files where MNIST belongs: enough for locating (which checks only presence)."""
    raw = raw_dir(root)
    raw.mkdir(parents=True, exist_ok=True)
    for name in FILES.values():
        (raw / name).touch()
    return root


def setup_error(fn, *args, **kwargs) -> str:
    with pytest.raises(SetupError) as info:
        fn(*args, **kwargs)
    return str(info.value)


# ========================================================================================= parse_idx


def test_parse_idx_reads_shape_and_values():
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    out = parse_idx(idx_bytes(array), "x")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize(
    "data",
    [
        idx_header((2,), type_code=0x0D) + bytes(8),  # float payload, not unsigned bytes
        b"\x01\x00\x08\x01" + (2).to_bytes(4, "big") + bytes(2),  # first magic byte not zero
        b"\x00\x00\x08",  # shorter than a magic number
        b"",
        b"PK\x03\x04 a zip file",
    ],
    ids=["float-type", "nonzero-first-byte", "three-bytes", "empty", "zip"],
)
def test_parse_idx_rejects_a_bad_magic_number_naming_the_source(data):
    message = setup_error(parse_idx, data, "/data/some-file")
    assert message.startswith("/data/some-file:") and "magic" in message


@pytest.mark.parametrize("data", [idx_header((60000, 28, 28))[:10], bytes([0, 0, 8, 0, 0, 0, 0, 0])],
                         ids=["cut-inside-dims", "zero-dims"])
def test_parse_idx_rejects_a_truncated_header(data):
    message = setup_error(parse_idx, data, "src")
    assert message.startswith("src:") and "header is truncated" in message


@pytest.mark.parametrize("delta", [-1, -50, +3])
def test_parse_idx_rejects_a_payload_of_the_wrong_length(delta):
    data = idx_bytes(np.zeros((10, 28, 28), dtype=np.uint8))
    data = data[:delta] if delta < 0 else data + bytes(delta)
    message = setup_error(parse_idx, data, "src")
    assert "expected 7840 bytes" in message and f"found {7840 + delta}" in message
    assert "download MNIST again" in message


# ======================================================================================== load_mnist


def test_load_mnist_reads_a_synthetic_full_size_set(tmp_path, zero_images):
    labels = {k: synthetic_labels(k, seed=1) for k in ("train_labels", "test_labels")}
    data = load_mnist(make_mnist(tmp_path, labels, images=zero_images))
    for key, shape in EXPECTED_SHAPES.items():
        array = getattr(data, key)
        assert array.shape == shape and array.dtype == np.uint8
    np.testing.assert_array_equal(data.train_labels, labels["train_labels"])
    np.testing.assert_array_equal(data.test_labels, labels["test_labels"])
    assert data.root == tmp_path
    assert set(data.md5) == set(FILES)
    assert data.canonical is False


def test_a_set_smaller_than_mnist_is_refused_as_not_mnist(tmp_path):
    root = tmp_path / "small"
    raw = raw_dir(root)
    for key, name in FILES.items():
        write_file(raw / name, idx_bytes(np.zeros(TINY_SHAPES[key], dtype=np.uint8)))
    message = setup_error(load_mnist, root)
    assert message.startswith(str(raw / FILES["train_images"]))
    assert "(60000, 28, 28)" in message and "(60, 28, 28)" in message and "not MNIST" in message


def test_synthetic_mnist_is_not_canonical(tmp_path, tiny_mnist_shapes):
    assert load_mnist(make_mnist(tmp_path)).canonical is False


def test_identity_is_stable_for_equal_content_and_changes_with_content(tmp_path, tiny_mnist_shapes):
    labels = {k: synthetic_labels(k, seed=2) for k in ("train_labels", "test_labels")}
    first = load_mnist(make_mnist(tmp_path / "a", labels))
    same = load_mnist(make_mnist(tmp_path / "b", labels))
    changed_labels = dict(labels, test_labels=labels["test_labels"].copy())
    changed_labels["test_labels"][0] = (changed_labels["test_labels"][0] + 1) % 10
    changed = load_mnist(make_mnist(tmp_path / "c", changed_labels))
    assert len(first.identity) == 16 and int(first.identity, 16) >= 0
    assert first.identity == same.identity
    assert changed.identity != first.identity


def test_identity_keys_on_every_file():
    md5 = {k: "0" * 32 for k in FILES}
    empty = dict(train_images=None, train_labels=None, test_images=None, test_labels=None)
    base = MNIST(root=Path("."), md5=md5, **empty)
    for key in FILES:
        assert MNIST(root=Path("."), md5=dict(md5, **{key: "1" * 32}), **empty).identity != base.identity


def test_gzipped_files_load_like_plain_ones(tmp_path, tiny_mnist_shapes):
    labels = {k: synthetic_labels(k, seed=3) for k in ("train_labels", "test_labels")}
    plain = load_mnist(make_mnist(tmp_path / "plain", labels))
    packed_root = make_mnist(tmp_path / "gz", labels, gz=tuple(FILES))
    assert (raw_dir(packed_root) / (FILES["test_labels"] + ".gz")).is_file()
    assert not (raw_dir(packed_root) / FILES["test_labels"]).exists()
    packed = load_mnist(packed_root)
    for key in FILES:
        np.testing.assert_array_equal(getattr(packed, key), getattr(plain, key))
    assert packed.identity == plain.identity  # md5 of the uncompressed bytes


def test_plain_file_is_preferred_over_its_gz_twin(tmp_path, tiny_mnist_shapes):
    labels = synthetic_labels("test_labels", seed=4)
    root = make_mnist(tmp_path, {"test_labels": labels})
    write_file(raw_dir(root) / FILES["test_labels"], b"ignored", gz=True)
    np.testing.assert_array_equal(load_mnist(root).test_labels, labels)


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"not gzip at all"],
                         ids=["truncated", "junk"])
def test_damaged_gz_file_is_named_in_the_error(tmp_path, tiny_mnist_shapes, damage):
    root = make_mnist(tmp_path, gz=("test_labels",))
    packed = raw_dir(root) / (FILES["test_labels"] + ".gz")
    packed.write_bytes(damage(packed.read_bytes()))
    message = setup_error(load_mnist, root)
    assert str(packed) in message and "cannot be decompressed" in message


def test_missing_files_message_lists_the_missing_names_and_the_fix(tmp_path, tiny_mnist_shapes):
    root = make_mnist(tmp_path, skip=("train_labels", "test_images"))
    assert missing_files(root) == [FILES["train_labels"], FILES["test_images"]]
    message = setup_error(load_mnist, root)
    assert str(raw_dir(root)) in message
    assert FILES["train_labels"] in message and FILES["test_images"] in message
    assert FILES["train_images"] not in message
    assert "--data-dir" in message and "EIS_DATA_DIR" in message


def test_empty_folder_lists_all_four_files(tmp_path):
    message = setup_error(load_mnist, tmp_path)
    assert all(name in message for name in FILES.values())


def rewrite(path: Path, change) -> Path:
    path.write_bytes(change(path.read_bytes()))
    return path


def test_bad_magic_number_in_one_file_names_that_file(tmp_path, tiny_mnist_shapes):
    path = rewrite(raw_dir(make_mnist(tmp_path)) / FILES["test_labels"], lambda b: b[:2] + b"\x0b" + b[3:])
    message = setup_error(load_mnist, tmp_path)
    assert message.startswith(str(path)) and "magic" in message


def test_truncated_payload_names_that_file(tmp_path, tiny_mnist_shapes):
    path = rewrite(raw_dir(make_mnist(tmp_path)) / FILES["train_images"], lambda b: b[:-100])
    message = setup_error(load_mnist, tmp_path)
    assert message.startswith(str(path)) and "truncated" in message


def test_truncated_image_header_names_that_file(tmp_path, tiny_mnist_shapes):
    path = rewrite(raw_dir(make_mnist(tmp_path)) / FILES["test_images"], lambda b: b[:10])
    message = setup_error(load_mnist, tmp_path)
    assert message.startswith(str(path)) and "header is truncated" in message


def test_label_file_cut_inside_its_header_is_reported_as_truncated(tmp_path, tiny_mnist_shapes):
    path = rewrite(raw_dir(make_mnist(tmp_path)) / FILES["test_labels"], lambda b: b[:6])
    message = setup_error(load_mnist, tmp_path)
    assert message.startswith(str(path)) and "truncated" in message and "magic" not in message


def test_well_formed_file_of_the_wrong_shape_is_not_mnist(tmp_path, tiny_mnist_shapes):
    root = make_mnist(tmp_path, labels={"test_labels": np.zeros(7, dtype=np.uint8)})
    message = setup_error(load_mnist, root)
    assert FILES["test_labels"] in message and "(10,)" in message and "(7,)" in message
    assert "not MNIST" in message


@pytest.mark.parametrize("key", ["train_labels", "test_labels"])
def test_labels_above_9_are_refused(tmp_path, tiny_mnist_shapes, key):
    labels = synthetic_labels(key)
    labels[3] = 10
    message = setup_error(load_mnist, make_mnist(tmp_path, labels={key: labels}))
    assert "labels above 9" in message and str(raw_dir(tmp_path)) in message


# =================================================================================== locating inputs


@pytest.fixture
def places(tmp_path, monkeypatch) -> SimpleNamespace:
    """Default locations moved into tmp_path, no EIS_* variables, and downloads that fail the test if called."""
    for variable in locate.ENV.values():
        monkeypatch.delenv(variable, raising=False)
    local, shared = tmp_path / "project" / "data", tmp_path / "shared"
    monkeypatch.setattr(locate, "LOCAL_DATA", local)
    monkeypatch.setattr(locate, "SHARED", shared)

    def no_network(*args, **kwargs):
        pytest.fail("a download was attempted")

    monkeypatch.setattr(locate, "_download_mnist", no_network)
    monkeypatch.setattr(locate, "_download_checkpoint", no_network)
    return SimpleNamespace(local=local, shared=shared, tmp=tmp_path, monkeypatch=monkeypatch)


def write_checkpoint_file(path: Path, content: bytes = b"weights") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def accept_as_challenge(places: SimpleNamespace, path: Path) -> None:
    """Make ``path``'s content the expected challenge checkpoint (its sha256)."""
    places.monkeypatch.setattr(locate, "CHALLENGE_SHA256", hashlib.sha256(path.read_bytes()).hexdigest())


def record_downloads(places: SimpleNamespace, mnist=None, checkpoint=None) -> list[tuple[str, Path]]:
    """Replace the downloads by fakes that record their calls; ``mnist``/``checkpoint`` are their actions."""
    calls: list[tuple[str, Path]] = []

    def fake_mnist(root: Path) -> None:
        calls.append(("mnist", root))
        if mnist:
            mnist(root)

    def fake_checkpoint(folder: Path) -> Path:
        calls.append(("checkpoint", folder))
        return checkpoint(folder) if checkpoint else write_checkpoint_file(folder / locate.CHECKPOINT_NAME)

    places.monkeypatch.setattr(locate, "_download_mnist", fake_mnist)
    places.monkeypatch.setattr(locate, "_download_checkpoint", fake_checkpoint)
    return calls


def failing_download(message: str):
    def fail(*args):
        raise SetupError(message)

    return fail


# ---------------------------------------------------------------------------------- explicit inputs


def test_explicit_data_dir_that_is_missing_names_it_and_the_option(places):
    folder = places.tmp / "no-such-folder"
    message = setup_error(locate.resolve_data_dir, str(folder))
    assert str(raw_dir(folder)) in message
    assert "--data-dir" in message and "EIS_DATA_DIR" in message


def test_explicit_data_dir_from_the_environment_that_is_missing_names_it(places):
    folder = places.tmp / "env-folder"
    places.monkeypatch.setenv("EIS_DATA_DIR", str(folder))
    assert str(raw_dir(folder)) in setup_error(locate.resolve_data_dir, None)


def test_explicit_data_dir_is_not_replaced_by_a_default_or_a_download(places):
    touch_mnist(places.local)
    calls = record_downloads(places, mnist=touch_mnist)
    setup_error(locate.resolve_data_dir, str(places.tmp / "elsewhere"))
    assert calls == []


def test_data_dir_option_beats_the_environment(places):
    option, env = touch_mnist(places.tmp / "option"), touch_mnist(places.tmp / "env")
    places.monkeypatch.setenv("EIS_DATA_DIR", str(env))
    assert locate.resolve_data_dir(str(option)) == option
    assert locate.resolve_data_dir(None) == env


def test_explicit_weights_path_that_is_missing_names_it_and_the_option(places):
    path = places.tmp / "missing.pt"
    message = setup_error(locate.resolve_checkpoint, str(path))
    assert str(path) in message and "--weights" in message and "EIS_WEIGHTS" in message


def test_explicit_weights_from_the_environment_are_used_without_a_hash_check(places):
    path = write_checkpoint_file(places.tmp / "mine.pt", b"any model at all")
    places.monkeypatch.setenv("EIS_WEIGHTS", str(path))
    checkpoint = locate.resolve_checkpoint(None)
    assert checkpoint.path == path.resolve()
    assert checkpoint.sha256 == hashlib.sha256(b"any model at all").hexdigest()
    assert not checkpoint.is_challenge


# --------------------------------------------------------------------------------- default locations


def test_default_data_search_prefers_local_data_over_shared(places):
    touch_mnist(places.local)
    touch_mnist(places.shared / "data")
    assert locate.resolve_data_dir() == places.local


def test_default_data_search_falls_back_to_shared(places):
    touch_mnist(places.shared / "data")
    assert locate.resolve_data_dir() == places.shared / "data"


def test_incomplete_local_data_is_skipped_for_complete_shared_data(places):
    touch_mnist(places.local)
    (raw_dir(places.local) / FILES["test_labels"]).unlink()
    touch_mnist(places.shared / "data")
    assert locate.resolve_data_dir() == places.shared / "data"


def test_default_checkpoint_search_prefers_local_data_over_shared(places):
    local = write_checkpoint_file(places.local / locate.CHECKPOINT_NAME)
    write_checkpoint_file(places.shared / "models" / locate.CHECKPOINT_NAME)
    accept_as_challenge(places, local)
    checkpoint = locate.resolve_checkpoint()
    assert checkpoint.path == local.resolve() and checkpoint.is_challenge


def test_default_checkpoint_search_falls_back_to_shared_models(places):
    shared = write_checkpoint_file(places.shared / "models" / locate.CHECKPOINT_NAME)
    accept_as_challenge(places, shared)
    assert locate.resolve_checkpoint().path == shared.resolve()


def test_default_checkpoint_with_another_sha256_is_refused_as_damaged_or_different(places):
    path = write_checkpoint_file(places.shared / "models" / locate.CHECKPOINT_NAME, b"a damaged download")
    message = setup_error(locate.resolve_checkpoint)
    assert str(path) in message
    assert "damaged or a different model" in message
    assert hashlib.sha256(b"a damaged download").hexdigest()[:12] in message
    assert "--weights" in message and "Delete it" in message


def test_the_same_file_passed_explicitly_is_accepted(places):
    path = write_checkpoint_file(places.shared / "models" / locate.CHECKPOINT_NAME, b"a fine-tuned model")
    assert locate.resolve_checkpoint(str(path)).path == path.resolve()


# ----------------------------------------------------------------------------------------- downloads


def test_missing_data_is_downloaded_into_local_data_when_allowed(places):
    calls = record_downloads(places, mnist=touch_mnist)
    assert locate.resolve_data_dir(allow_download=True) == places.local
    assert calls == [("mnist", places.local)]


def test_download_that_leaves_data_incomplete_is_reported(places):
    record_downloads(places, mnist=lambda root: raw_dir(root).mkdir(parents=True))
    message = setup_error(locate.resolve_data_dir, allow_download=True)
    assert "incomplete" in message and "--data-dir" in message


def test_failed_data_download_reports_the_failure_and_the_fix(places):
    places.monkeypatch.setattr(locate, "_download_mnist", failing_download("network unreachable"))
    message = setup_error(locate.resolve_data_dir, allow_download=True)
    assert "network unreachable" in message
    assert str(raw_dir(places.local)) in message and str(raw_dir(places.shared / "data")) in message
    assert "--data-dir" in message and "EIS_DATA_DIR" in message


def test_missing_checkpoint_is_downloaded_into_local_data_when_allowed(places):
    calls = record_downloads(places)
    checkpoint = locate.resolve_checkpoint(allow_download=True)
    assert calls == [("checkpoint", places.local)]
    assert checkpoint.path == (places.local / locate.CHECKPOINT_NAME).resolve()


def test_failed_checkpoint_download_reports_the_failure_and_the_fix(places):
    places.monkeypatch.setattr(locate, "_download_checkpoint", failing_download("HTTP 404"))
    message = setup_error(locate.resolve_checkpoint, allow_download=True)
    assert "HTTP 404" in message and "--weights" in message and locate.CHALLENGE_SHA256 in message


def test_no_download_option_downloads_nothing_and_names_the_options(places):
    calls = record_downloads(places, mnist=touch_mnist)
    message = setup_error(locate.resolve_inputs, cache_dir=str(places.tmp / "cache"), no_download=True)
    assert calls == []
    assert "--no-download" in message and "EIS_NO_DOWNLOAD" in message
    assert "--data-dir" in message and "EIS_DATA_DIR" in message
    assert "--weights" in message and "EIS_WEIGHTS" in message


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_no_download_environment_variable_downloads_nothing(places, value):
    calls = record_downloads(places, mnist=touch_mnist)
    places.monkeypatch.setenv("EIS_NO_DOWNLOAD", value)
    message = setup_error(locate.resolve_inputs, cache_dir=str(places.tmp / "cache"))
    assert calls == []
    assert "EIS_NO_DOWNLOAD" in message


@pytest.mark.parametrize("value", ["", "0"])
def test_empty_or_zero_no_download_variable_allows_downloads(places, value):
    calls = record_downloads(places, mnist=touch_mnist)
    places.monkeypatch.setenv("EIS_NO_DOWNLOAD", value)
    inputs = locate.resolve_inputs(cache_dir=str(places.tmp / "cache"))
    assert [kind for kind, _ in calls] == ["mnist", "checkpoint"]
    assert inputs.data_dir == places.local


@pytest.mark.parametrize("value", ["false", "no", "off"])
def test_false_like_no_download_variable_allows_downloads(places, value):
    places.monkeypatch.setenv("EIS_NO_DOWNLOAD", value)
    assert locate.downloads_allowed() is True


# ---------------------------------------------------------------------------------- cache and bundle


def test_cache_dir_is_created_if_absent(places):
    folder = places.tmp / "a" / "b" / "cache"
    assert locate.resolve_cache_dir(str(folder)) == folder and folder.is_dir()


def test_cache_dir_from_the_environment_is_used(places):
    places.monkeypatch.setenv("EIS_CACHE_DIR", str(places.tmp / "env-cache"))
    assert locate.resolve_cache_dir() == places.tmp / "env-cache"


@pytest.mark.parametrize("below", [False, True], ids=["is-a-file", "below-a-file"])
def test_cache_dir_that_cannot_be_created_is_a_setup_error(places, below):
    blocker = write_checkpoint_file(places.tmp / "a-file", b"")
    folder = blocker / "cache" if below else blocker
    message = setup_error(locate.resolve_cache_dir, str(folder))
    assert str(folder) in message and "--cache-dir" in message and "EIS_CACHE_DIR" in message


def test_cache_dir_that_is_not_writable_is_a_setup_error(places):
    folder = places.tmp / "read-only"
    folder.mkdir()
    real_access = os.access
    places.monkeypatch.setattr(locate.os, "access",
                               lambda p, mode: False if Path(p) == folder else real_access(p, mode))
    message = setup_error(locate.resolve_cache_dir, str(folder))
    assert str(folder) in message and "not writable" in message and "--cache-dir" in message


def test_resolve_inputs_returns_every_input(places):
    touch_mnist(places.shared / "data")
    weights = write_checkpoint_file(places.tmp / "w.pt")
    inputs = locate.resolve_inputs(weights=str(weights), cache_dir=str(places.tmp / "cache"), no_download=True)
    assert inputs.data_dir == places.shared / "data"
    assert inputs.checkpoint.path == weights.resolve()
    assert inputs.cache_dir == places.tmp / "cache"


def test_resolve_inputs_gathers_every_problem_into_one_error(places):
    bad_cache = write_checkpoint_file(places.tmp / "not-a-folder", b"")
    message = setup_error(
        locate.resolve_inputs,
        data_dir=str(places.tmp / "no-data"),
        weights=str(places.tmp / "no-weights.pt"),
        cache_dir=str(bad_cache),
        no_download=True,
    )
    lines = message.splitlines()
    assert len(lines) == 3 and all(line.startswith("- ") for line in lines)
    assert "no-data" in lines[0] and "no-weights.pt" in lines[1] and "not-a-folder" in lines[2]


# ============================================================= end to end: the claims suite through pytest


def run_claims_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m pytest claims/ -q -p no:cacheprovider ARGS`` from the project root, without EIS_* variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EIS_", "PYTEST_XDIST", "PYTEST_ADDOPTS")) and k != "PYTEST_CURRENT_TEST"}
    cmd = [sys.executable, "-m", "pytest", "claims/", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(cmd, cwd=locate.PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_usage_error_without_traceback(proc: subprocess.CompletedProcess, *expected: str) -> None:
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "the claims suite cannot start" in output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"
    assert "Traceback" not in output


def test_claims_run_with_an_empty_data_dir_stops_with_one_message(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_claims_cli("--data-dir", str(empty), "--no-download", "--cache-dir", str(tmp_path / "cache"),
                          "--report-dir", str(tmp_path / "report"))
    assert_usage_error_without_traceback(proc, str(raw_dir(empty)), "--data-dir")


@pytest.mark.needs_data
@pytest.mark.slow
def test_claims_run_with_a_garbage_checkpoint_stops_with_one_message(tmp_path, mnist):
    garbage = write_checkpoint_file(tmp_path / "garbage.pt", b"\x00" + np.random.default_rng(0).bytes(2000))
    cache = tmp_path / "cache"
    proc = run_claims_cli("--weights", str(garbage), "--cache-dir", str(cache), "--data-dir", str(mnist.root),
                          "--no-download", "--report-dir", str(tmp_path / "report"))
    assert_usage_error_without_traceback(proc, str(garbage), "not a torch checkpoint")
    assert not list(cache.glob("*.npz")) and not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_a_report_folder_that_cannot_be_created_is_reported_with_its_option(tmp_path):
    from fixtures.locate import writable_dir

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SetupError, match=r"report folder .*a-file/sub.*--report-dir.*EIS_REPORT_DIR"):
        writable_dir(blocker / "sub", "report folder", "--report-dir", "EIS_REPORT_DIR")
