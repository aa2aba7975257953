"""Downloads time out: a server that accepts connections and never answers (a stalled proxy) ends the download
within the timeout with one message naming the URL and the offline alternatives, and leaves no empty folders.
Only a local socket on 127.0.0.1 is used; nothing here touches the network."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from fixtures import locate
from fixtures.errors import SetupError
from fixtures.locate import PROJECT_ROOT

TIMEOUT_S = 1.0


@pytest.fixture
def silent_server() -> Iterator[str]:
    """``http://127.0.0.1:PORT/``: accepts every connection, reads nothing, answers nothing."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def stalled(monkeypatch, silent_server) -> str:
    import torchvision  # noqa: F401  (imported before the clock starts: seconds on a loaded machine)

    monkeypatch.setenv(locate.ENV["mnist_mirror"], silent_server)
    monkeypatch.setenv(locate.ENV["weights_url"], silent_server + "mnist_model.pt")
    monkeypatch.setenv(locate.ENV["download_timeout"], str(TIMEOUT_S))
    return silent_server


def test_a_stalled_mnist_download_gives_up_within_the_timeout_and_leaves_no_folders(stalled, tmp_path):
    root = tmp_path / "data"
    start = time.monotonic()
    with pytest.raises(SetupError) as info:
        locate._download_mnist(root)
    elapsed = time.monotonic() - start
    assert elapsed < 5 * TIMEOUT_S, elapsed  # one stalled request ends it, not one per file and mirror
    assert stalled in str(info.value) and "stalled" in str(info.value)
    assert not root.exists()


def test_a_stalled_download_keeps_a_data_folder_that_existed_but_removes_what_it_created(stalled, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / "keep.txt").write_text("mine")
    with pytest.raises(SetupError):
        locate._download_mnist(root)
    assert (root / "keep.txt").exists() and not (root / "MNIST").exists()


def test_a_stalled_checkpoint_download_gives_up_within_the_timeout(stalled, tmp_path):
    start = time.monotonic()
    with pytest.raises(SetupError) as info:
        locate._download_checkpoint(tmp_path / "data")
    assert time.monotonic() - start < 5 * TIMEOUT_S
    assert stalled in str(info.value)
    assert not (tmp_path / "data").exists()


def test_a_bad_timeout_value_is_a_setup_error(monkeypatch):
    monkeypatch.setenv(locate.ENV["download_timeout"], "soon")
    with pytest.raises(SetupError, match="EIS_DOWNLOAD_TIMEOUT"):
        locate.download_timeout()


CHILD = """
import sys
from pathlib import Path
import fixtures.locate as locate
locate.LOCAL_DATA, locate.SHARED = Path(sys.argv[1]), Path(sys.argv[2])  # no ./data, no ../shared
import pytest
sys.exit(pytest.main(sys.argv[3:]))
"""


@pytest.mark.slow
def test_a_claims_run_behind_a_stalled_network_ends_with_one_message_and_exit_4(stalled, tmp_path):
    local, shared = tmp_path / "data", tmp_path / "shared"
    args = ["claims/", "-q", "-p", "no:cacheprovider", "--cache-dir", str(tmp_path / "cache"),
            "--report-dir", str(tmp_path / "report")]
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(local), str(shared), *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - start
    output = proc.stdout + proc.stderr
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, output[-3000:]
    assert "Traceback" not in output
    assert stalled in output and "--data-dir" in output and "--weights" in output  # the URL and the alternatives
    assert "downloading MNIST" in output  # the progress line
    assert not local.exists()
    assert elapsed < 60, elapsed
