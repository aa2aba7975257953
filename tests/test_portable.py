"""The same report on every machine: the network side is computed in float64 (and stored as float32), so the
records do not depend on the CPU's instruction set (torch's kernels and OpenBLAS's), the thread count or the forward
batch size.

Each setting below recomputes the activation bundle in a child process with a fresh cache folder and runs every
claim and probe; the records must equal those of the session's own run (the default setting) exactly. On a machine
without AVX-512 the AVX2 setting changes nothing, on one with it (like the project's) it swaps every oneDNN kernel.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_claims

pytestmark = pytest.mark.needs_data

SETTINGS = {
    "onednn-avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},  # oneDNN's AVX2 kernels instead of AVX-512
    "aten-default": {"ATEN_CPU_CAPABILITY": "default"},  # ATen's portable kernels, no vector extensions
    "one-thread": {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    # the test process runs one BLAS thread unless the user sets a number (fixtures/plugin.py): here two
    "two-blas-threads": {"OPENBLAS_NUM_THREADS": "2"},
    # OpenBLAS's SSE kernels instead of the CPU's own (Haswell or SkylakeX): numpy computes the cached taps and s
    "openblas-nehalem": {"OPENBLAS_CORETYPE": "Nehalem"},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", SETTINGS)
def test_records_are_identical_whatever_the_cpu_kernels_and_thread_count(
    name, pytestconfig, prepared, claims_run, tmp_path
):
    cache = tmp_path / "cache"
    cache.mkdir()
    # A fresh cache, so the network side runs again under this setting; only the figure memo is shared (figures
    # are keyed by a digest of their inputs: equal inputs find them, different ones would be drawn afresh).
    (prepared.inputs.cache_dir / "figures").mkdir(parents=True, exist_ok=True)
    (cache / "figures").symlink_to(prepared.inputs.cache_dir / "figures", target_is_directory=True)
    run = run_claims(pytestconfig, tmp_path / "report", "--cache-dir", str(cache), env=SETTINGS[name])
    assert (tmp_path / "report" / "claims.json").exists(), run.stdout[-3000:] + run.stderr[-2000:]
    assert any(cache.glob("activations-*.npz"))  # the network side really ran under this setting
    theirs, ours = run.document, claims_run.document
    assert theirs["claims"] == ours["claims"]
    assert theirs["probes"] == ours["probes"]
    assert (tmp_path / "report" / "claims.json").read_bytes() == (claims_run.report_dir / "claims.json").read_bytes()


def test_activations_do_not_depend_on_the_forward_batch_size(mnist, prepared):
    from fixtures.checkpoint import load_state
    from model.network import activations

    challenge_state = load_state(prepared.inputs.checkpoint.path)
    images = mnist.train_images[:1500]
    one = activations(challenge_state, images, batch_size=512)
    other = activations(challenge_state, images, batch_size=37)
    assert np.array_equal(one.pre, other.pre) and np.array_equal(one.logits, other.logits)
