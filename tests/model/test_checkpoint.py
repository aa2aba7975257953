"""Checkpoint loading (model.network.load_state) and the network's input/output checks, on tiny files in tmp_path.

Every way a checkpoint file can be wrong must end in one :class:`model.spec.CheckpointError` whose message
names the file and says what to do; a checkpoint is data, so nothing in it is ever unpickled as code.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from model.network import activations, build_network, check_images, load_state  # noqa: E402
from model.spec import STATE_SHAPES, CheckpointError  # noqa: E402
from model.torchnet import ChallengeNet  # noqa: E402

# -------------------------------------------------------------------------------------------- helpers

#: Phrases of which at least one tells the user what to do about a bad checkpoint.
FIX_HINTS = ("torch.save(model.state_dict()", "--weights", "another checkpoint", "download it again")


def random_state_dict(seed: int = 0) -> dict[str, "torch.Tensor"]:
    """A freshly initialised challenge network's state_dict (deterministic for a seed)."""
    torch.manual_seed(seed)
    return {k: v.clone() for k, v in ChallengeNet().state_dict().items()}


def save_state(path: Path, state: dict, **kwargs) -> Path:
    torch.save(state, path, **kwargs)
    return path


def saved_checkpoint(tmp_path: Path, name: str = "model.pt", seed: int = 0) -> Path:
    return save_state(tmp_path / name, random_state_dict(seed))


def numpy_state(seed: int = 0, scale: float = 0.1) -> dict[str, np.ndarray]:
    """A float32 numpy state of the challenge shapes (no torch needed to build it)."""
    rng = np.random.default_rng(seed)
    return {k: (scale * rng.standard_normal(shape)).astype(np.float32) for k, shape in STATE_SHAPES.items()}


def load_error(path: Path) -> str:
    """The message of the CheckpointError that loading ``path`` must raise."""
    with pytest.raises(CheckpointError) as info:
        load_state(path)
    return str(info.value)


def assert_names_file_and_fix(message: str, path: Path) -> None:
    assert str(path) in message, f"the message does not name the file: {message}"
    assert any(h in message for h in FIX_HINTS), f"the message does not say what to do: {message}"


def zip_member_offset(data: bytes, suffix: str) -> tuple[int, int]:
    """(offset, size) of the stored (uncompressed) payload of the zip member whose name ends with ``suffix``."""
    import io
    import struct

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(suffix))
    h = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[h + 26 : h + 30])
    return h + 30 + name_len + extra_len, info.file_size


def _spring_trap(marker: str) -> dict:
    """Called only if a checkpoint is unpickled as code: leaves a marker file behind."""
    Path(marker).write_text("code from the checkpoint ran")
    return {}


class _Trap:
    """An object whose unpickling runs :func:`_spring_trap` (a stand-in for arbitrary code in a pickle)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (_spring_trap, (self.marker,))


# ------------------------------------------------------------------------------------------ good path


def test_saved_state_dict_loads_as_float32_numpy_arrays_with_the_challenge_keys(tmp_path):
    state = random_state_dict(seed=1)
    loaded = load_state(save_state(tmp_path / "ok.pt", state))
    assert list(loaded) == list(STATE_SHAPES)
    for key, shape in STATE_SHAPES.items():
        assert isinstance(loaded[key], np.ndarray)
        assert loaded[key].dtype == np.float32
        assert loaded[key].shape == shape
        np.testing.assert_array_equal(loaded[key], state[key].numpy())


def test_legacy_pickle_format_state_dict_loads(tmp_path):
    state = random_state_dict(seed=2)
    path = save_state(tmp_path / "legacy.pt", state, _use_new_zipfile_serialization=False)
    loaded = load_state(path)
    np.testing.assert_array_equal(loaded["fc1.weight"], state["fc1.weight"].numpy())


def test_float64_and_float16_parameters_are_converted_to_float32(tmp_path):
    state = random_state_dict()
    state["fc1.weight"] = state["fc1.weight"].double()
    state["fc2.weight"] = state["fc2.weight"].half()
    loaded = load_state(save_state(tmp_path / "mixed.pt", state))
    assert {v.dtype for v in loaded.values()} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(loaded["fc2.weight"], state["fc2.weight"].float().numpy())


def test_load_state_accepts_a_string_path(tmp_path):
    assert list(load_state(str(saved_checkpoint(tmp_path)))) == list(STATE_SHAPES)


# ------------------------------------------------------------------------------------ unusable files


def test_missing_checkpoint_file_names_it_and_the_option(tmp_path):
    path = tmp_path / "nowhere" / "model.pt"
    message = load_error(path)
    assert str(path) in message
    assert "--weights" in message and "EIS_WEIGHTS" in message


def test_directory_instead_of_checkpoint_file_is_refused(tmp_path):
    assert str(tmp_path) in load_error(tmp_path)


def test_empty_checkpoint_file_is_refused_as_empty(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "empty" in message


@pytest.mark.parametrize("content", [b"hello, not a checkpoint\n", b"PK\x03\x04" + bytes(100), b"\x13\x37" * 2000],
                         ids=["text", "zip-signature-only", "random-looking-bytes"])
def test_non_checkpoint_bytes_are_refused_as_not_a_torch_checkpoint(tmp_path, content):
    path = tmp_path / "junk.pt"
    path.write_bytes(content)
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "not a torch checkpoint" in message or "cannot be read" in message


def test_random_bytes_are_refused(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "random.pt"
    path.write_bytes(b"\x00" + rng.bytes(4096))  # first byte fixed: never a zip ("PK") or pickle (0x80) header
    assert_names_file_and_fix(load_error(path), path)


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.999])
def test_truncated_copy_of_a_real_checkpoint_is_refused(tmp_path, fraction):
    data = saved_checkpoint(tmp_path, "whole.pt").read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: int(len(data) * fraction)])
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "truncated" in message or "corrupt" in message


@pytest.mark.parametrize("fraction", [0.01, 0.5, 0.999])
def test_truncated_copy_of_a_legacy_format_checkpoint_is_refused(tmp_path, fraction):
    data = save_state(tmp_path / "whole.pt", random_state_dict(), _use_new_zipfile_serialization=False).read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: max(2, int(len(data) * fraction))])
    assert_names_file_and_fix(load_error(path), path)


def test_whole_pickled_module_is_refused_with_advice_to_save_the_state_dict(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "module.pt"
    torch.save(ChallengeNet(), path)
    message = load_error(path)
    assert str(path) in message
    assert "torch.save(model.state_dict(), path)" in message


def test_code_in_a_checkpoint_pickle_is_never_run(tmp_path):
    marker = tmp_path / "trap-sprung"
    state = dict(random_state_dict())
    state["fc2.bias"] = _Trap(marker)
    path = save_state(tmp_path / "trap.pt", state)

    message = load_error(path)

    assert not marker.exists(), "loading the checkpoint executed code from its pickle"
    assert str(path) in message and "state_dict" in message
    # The trap is real: an unsafe load does run it (so the assertion above means something).
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_refused_module_message_has_no_terminal_escapes_nor_advice_to_disable_weights_only(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(ChallengeNet(), path)
    message = load_error(path)
    assert "\x1b" not in message
    assert not re.search(r"weights_only.{0,20}False", message)


def _damaged_pickle_inside_zip(tmp_path: Path) -> Path:
    data = bytearray(saved_checkpoint(tmp_path, "good.pt").read_bytes())
    offset, _ = zip_member_offset(bytes(data), "data.pkl")
    data[offset : offset + 8] = b"\xff" * 8
    path = tmp_path / "damaged.pt"
    path.write_bytes(bytes(data))
    return path


def _random_bytes_with_pickle_header(tmp_path: Path) -> Path:
    path = tmp_path / "damaged.pt"
    path.write_bytes(b"\x80\x02" + np.random.default_rng(0).bytes(4096))
    return path


@pytest.mark.parametrize("make", [_damaged_pickle_inside_zip, _random_bytes_with_pickle_header],
                         ids=["zip-with-damaged-data.pkl", "random-bytes-with-pickle-header"])
def test_damaged_pickle_is_reported_as_damaged_not_as_a_pickled_model(tmp_path, make):
    path = make(tmp_path)
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "whole model object" not in message
    assert any(w in message for w in ("damaged", "corrupt", "truncated", "cannot be read"))


# ---------------------------------------------------------------------------------- wrong contents


def test_a_list_instead_of_a_state_dict_is_refused(tmp_path):
    path = save_state(tmp_path / "list.pt", [torch.zeros(3)])
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "list" in message


def test_state_dict_missing_a_key_names_the_key(tmp_path):
    state = random_state_dict()
    del state["fc2.bias"]
    path = save_state(tmp_path / "missing.pt", state)
    message = load_error(path)
    assert str(path) in message
    assert "missing keys fc2.bias" in message


def test_state_dict_with_an_extra_key_names_the_key(tmp_path):
    state = random_state_dict()
    state["fc3.weight"] = torch.zeros(2, 2)
    message = load_error(save_state(tmp_path / "extra.pt", state))
    assert "unexpected keys fc3.weight" in message


def test_state_dict_nested_under_a_key_reports_missing_and_unexpected_keys(tmp_path):
    message = load_error(save_state(tmp_path / "nested.pt", {"model": random_state_dict()}))
    assert "missing keys conv1.weight" in message and "unexpected keys model" in message


def test_state_dict_of_a_wider_network_names_the_wrong_shapes(tmp_path):
    state = random_state_dict()
    state["fc1.weight"] = torch.zeros(300, 400)
    state["fc1.bias"] = torch.zeros(300)
    state["fc2.weight"] = torch.zeros(2, 300)
    path = save_state(tmp_path / "wide.pt", state)
    message = load_error(path)
    assert str(path) in message and "wrong shapes" in message
    for key in ("fc1.weight", "fc1.bias", "fc2.weight"):
        assert key in message
    assert "(300, 400)" in message and "(200, 400)" in message


def test_integer_tensors_are_refused_naming_the_parameter(tmp_path):
    state = {k: v.to(torch.int64) for k, v in random_state_dict().items()}
    path = save_state(tmp_path / "int.pt", state)
    message = load_error(path)
    assert str(path) in message
    assert "conv1.weight" in message and "floating-point" in message


def test_integer_tensor_message_names_the_dtype_and_what_to_do(tmp_path):
    state = {k: v.to(torch.int64) for k, v in random_state_dict().items()}
    path = save_state(tmp_path / "int.pt", state)
    message = load_error(path)
    assert "int64" in message
    assert_names_file_and_fix(message, path)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
def test_non_finite_weights_are_refused_naming_the_parameter(tmp_path, bad):
    state = random_state_dict()
    state["conv2.bias"][3] = bad
    path = save_state(tmp_path / "nonfinite.pt", state)
    message = load_error(path)
    assert_names_file_and_fix(message, path)
    assert "conv2.bias" in message and "NaN or infinity" in message
    assert "fc1.weight" not in message


# ------------------------------------------------------------------------------ network and images


def white_images(n: int = 2) -> np.ndarray:
    return np.full((n, 28, 28), 255, dtype=np.uint8)


def random_images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)


def test_activations_on_weights_that_overflow_raise_checkpoint_error():
    state = {k: np.full(shape, 1e30, dtype=np.float32) for k, shape in STATE_SHAPES.items()}
    with pytest.raises(CheckpointError, match="non-finite") as info:
        activations(state, white_images())
    assert "another checkpoint" in str(info.value)


def reference_forward(state: dict[str, np.ndarray], images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The challenge CNN written out in numpy loops, independently of model/torchnet.py: valid 3×3
    cross-correlation, ReLU, 2×2 max-pool (floor), twice; flatten (channel, row, column); fc1; ReLU; fc2.
    Returns (fc1 pre-activations, logits) in float64."""

    def conv(x, w, b):  # x (C, H, W), w (O, C, 3, 3)
        c, h, wd = x.shape
        out = np.empty((w.shape[0], h - 2, wd - 2))
        for o in range(w.shape[0]):
            for i in range(h - 2):
                for j in range(wd - 2):
                    out[o, i, j] = np.sum(x[:, i:i + 3, j:j + 3] * w[o]) + b[o]
        return out

    def pool(x):
        c, h, wd = x.shape
        return np.array([[[x[k, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max() for j in range(wd // 2)]
                          for i in range(h // 2)] for k in range(c)])

    st = {k: v.astype(np.float64) for k, v in state.items()}
    pres, logits = [], []
    for img in images.astype(np.float64) / 255.0:
        h = pool(np.maximum(conv(img[None], st["conv1.weight"], st["conv1.bias"]), 0))  # 8 × 13 × 13
        h = pool(np.maximum(conv(h, st["conv2.weight"], st["conv2.bias"]), 0))  # 16 × 5 × 5
        pre = st["fc1.weight"] @ h.reshape(-1) + st["fc1.bias"]
        pres.append(pre)
        logits.append(st["fc2.weight"] @ np.maximum(pre, 0) + st["fc2.bias"])
    return np.array(pres), np.array(logits)


def test_activations_match_an_independent_numpy_forward_pass_and_do_not_depend_on_batching():
    state = numpy_state(seed=3)
    images = random_images(5, seed=4)
    out = activations(state, images, batch_size=2)
    pre, logits = reference_forward(state, images)
    assert out.pre.dtype == np.float32 and out.pre.shape == (5, 200)
    assert out.logits.dtype == np.float32 and out.logits.shape == (5, 2)
    np.testing.assert_allclose(out.pre, pre, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.logits, logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(out.labels, np.argmax(out.logits, axis=1))
    whole = activations(state, images, batch_size=5)
    np.testing.assert_allclose(whole.pre, out.pre, rtol=1e-5, atol=1e-6)


def test_activations_calls_between_batches_once_per_batch():
    calls = []
    activations(numpy_state(), random_images(5), batch_size=2, between_batches=lambda: calls.append(1))
    assert len(calls) == 3


def test_build_network_refuses_a_state_of_another_architecture():
    state = numpy_state()
    state["fc1.weight"] = np.zeros((10, 400), dtype=np.float32)
    with pytest.raises(CheckpointError, match="wrong shapes fc1.weight"):
        build_network(state)


@pytest.mark.parametrize("images", [[[0] * 28] * 28, "images"], ids=["list", "str"])
def test_check_images_refuses_non_arrays_with_type_error(images):
    with pytest.raises(TypeError, match="numpy array"):
        check_images(images)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int8, bool])
def test_check_images_refuses_non_uint8_with_type_error(dtype):
    with pytest.raises(TypeError, match="uint8"):
        check_images(np.zeros((2, 28, 28), dtype=dtype))


@pytest.mark.parametrize("shape", [(28, 28), (2, 28, 27), (2, 3, 28, 28), (2, 784), (2, 1, 1, 28, 28)])
def test_check_images_refuses_wrong_shapes_with_value_error(shape):
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        check_images(np.zeros(shape, dtype=np.uint8))


def test_check_images_accepts_a_channel_axis_and_drops_it():
    images = random_images(3)
    np.testing.assert_array_equal(check_images(images[:, None]), images)
    assert check_images(images) is images


def test_activations_refuse_float_images():
    with pytest.raises(TypeError, match="uint8"):
        activations(numpy_state(), np.zeros((1, 28, 28), dtype=np.float32))
