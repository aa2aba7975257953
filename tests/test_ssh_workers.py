"""The multi-machine path for real: pytest-xdist's ssh transport (``--tx ssh=…``) to an OpenSSH server on the
loopback address, with a host key, a user key and a server configuration made for the run in a temporary
folder. The server is started and stopped here; the remote worker runs in its own copy of the checkout (the
"same checkout on every machine" of the README) with the venv's python, so the controller gets the matrix only
through what xdist carries back over ssh. The matrix must equal a serial run's.

Skips, saying why, where ``sshd`` is not installed or does not start (Debian: ``apt-get install
openssh-server``; run as root, sshd also needs its privilege-separation folder ``/run/sshd``, which .ci/run
makes).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from claims.probe_settings import active_profile
from fixtures.locate import PROJECT_ROOT
from fixtures.plugin import prepare
from model.runs import run_dir, run_document

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]

#: The one model of the matrix: its claims run is the cheapest (no training) and still one whole model test.
MODELS = "untrained"
SSHD_SEARCH_PATH = os.pathsep.join(("/usr/sbin", "/usr/local/sbin", os.environ.get("PATH", "")))
#: The ssh client's name for the loopback server (its Host entry in the run's client configuration).
HOST = "eis-loopback"
#: Seconds the server may take to listen, and the first login to answer.
START_TIMEOUT_S = 20.0
#: Seconds either claims run may take before the test gives up on it (a hung transport fails, never hangs CI).
RUN_TIMEOUT_S = 1800


@dataclass(frozen=True)
class LoopbackServer:
    client_config: Path
    log: Path

    def tx(self, python: str, chdir: Path) -> str:
        """The ``--tx`` spec of one worker on this server (xdist/execnet syntax)."""
        return f"ssh={HOST}//ssh_config={self.client_config}//python={python}//chdir={chdir}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Set by .ci/run where it installed OpenSSH: there the ssh path must be tested for real, so a server that cannot
#: start fails the test instead of skipping it.
REQUIRED = os.environ.get("EIS_REQUIRE_SSH") == "1"


def unavailable(reason: str) -> None:
    """Skip (or, where the ssh path is required, fail) with ``reason``."""
    if REQUIRED:
        pytest.fail(f"the ssh-worker test is required here (EIS_REQUIRE_SSH=1) but {reason}", pytrace=False)
    pytest.skip(reason)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def loopback_sshd(tmp_path: Path) -> Iterator[LoopbackServer]:
    """``sshd -D`` on 127.0.0.1 at a free port, accepting only a key made for this run, for the current user."""
    sshd, keygen = shutil.which("sshd", path=SSHD_SEARCH_PATH), shutil.which("ssh-keygen")
    if not (sshd and keygen and shutil.which("ssh")):
        unavailable("OpenSSH is not installed (sshd, ssh-keygen, ssh; Debian: apt-get install openssh-server)")
    folder = tmp_path / "sshd"
    folder.mkdir()
    for key in ("host_key", "user_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(folder / key)], check=True)
    authorized = folder / "authorized_keys"
    authorized.write_text((folder / "user_key.pub").read_text())
    authorized.chmod(0o600)
    port, user = free_port(), pwd.getpwuid(os.getuid()).pw_name
    server_config = folder / "sshd_config"
    server_config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {folder / 'host_key'}\nAuthorizedKeysFile {authorized}\n"
        f"AllowUsers {user}\nAuthenticationMethods publickey\nPubkeyAuthentication yes\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\n"
        "PidFile none\n"
    )
    client_config = folder / "ssh_config"
    client_config.write_text(
        f"Host {HOST}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {folder / 'user_key'}\n"
        "  IdentitiesOnly yes\n  BatchMode yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
    )
    check = subprocess.run([sshd, "-t", "-f", str(server_config)], capture_output=True, text=True)
    if check.returncode != 0:
        unavailable(f"sshd cannot start here: {(check.stderr or check.stdout).strip()}")
    log = folder / "sshd.log"
    with open(log, "w") as err:
        server = subprocess.Popen([sshd, "-D", "-e", "-f", str(server_config)], stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                unavailable(f"sshd did not start listening on 127.0.0.1:{port}: {log.read_text().strip()}")
            time.sleep(0.1)
        login = subprocess.run(
            ["ssh", "-F", str(client_config), HOST, "true"], capture_output=True, text=True, timeout=START_TIMEOUT_S
        )
        if login.returncode != 0:
            unavailable(f"the loopback sshd refused this run's key: {login.stderr.strip()} {log.read_text().strip()}")
        yield LoopbackServer(client_config, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def copy_checkout(dest: Path) -> Path:
    """The project's files as another machine's checkout holds them: no dot folders (git, venv, caches), no
    bytecode, no downloaded data and no report folders."""
    ignored = shutil.ignore_patterns(".*", "__pycache__", "*.pyc", "out", "out-*")

    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {"data"} if Path(folder) == PROJECT_ROOT else set()
        return set(ignored(folder, names)) | (top & set(names))

    shutil.copytree(PROJECT_ROOT, dest, ignore=ignore)
    return dest


def without_shown_paths(matrix: dict[str, Any]) -> dict[str, Any]:
    """``matrix.json`` without the checkpoints' shown paths: a run shows a path relative to its own checkout, and
    each model's run happens in the checkout of the machine that ran it; the sha256 beside each is the identity."""
    out = json.loads(json.dumps(matrix))
    for checkpoint in (out["original"], *(p["checkpoint"] for p in out["predictions"].values())):
        checkpoint.pop("path", None)
    return out


def test_a_worker_over_ssh_gives_the_same_matrix_as_a_serial_run(pytestconfig, loopback_sshd, tmp_path):
    inputs = prepare(pytestconfig).inputs
    common = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        # No path argument: xdist 3.8 refuses one that is not under a folder it rsyncs (--rsyncdir, deprecated);
        # each machine's own pytest.ini finds claims/ in its own checkout.
        "-o",
        "testpaths=claims",
        f"--models={MODELS}",
        # With '=': a separate value that is an existing path would be refused like a path argument.
        f"--weights={inputs.checkpoint.path}",
        f"--data-dir={inputs.data_dir}",
        f"--cache-dir={inputs.cache_dir}",
        "--no-download",
        # ssh carries no environment: the profile hypothesis would pick from $CI is named explicitly (the model
        # runs the worker starts are given it too).
        f"--hypothesis-profile={active_profile(pytestconfig)}",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env.pop("EIS_REPORT_DIR", None)
    serial_dir, ssh_dir = tmp_path / "serial", tmp_path / "ssh"
    serial = subprocess.run(
        [*common, f"--report-dir={serial_dir}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert (serial_dir / "matrix.json").exists(), serial.stdout[-3000:] + serial.stderr[-2000:]

    box = copy_checkout(tmp_path / "box2" / "eis")
    # The controller's report folder reaches it by its environment, which ssh does not carry: the remote
    # worker writes into its own checkout's default report folder, as on another machine.
    distributed = subprocess.run(
        [*common, "--dist=loadgroup", f"--tx={loopback_sshd.tx(sys.executable, box)}"],
        cwd=PROJECT_ROOT,
        env={**env, "EIS_REPORT_DIR": str(ssh_dir)},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    output = distributed.stdout[-3000:] + distributed.stderr[-2000:]
    assert (ssh_dir / "matrix.json").exists(), output + loopback_sshd.log.read_text()[-2000:]
    assert distributed.returncode == serial.returncode, output
    assert "Accepted publickey" in loopback_sshd.log.read_text()  # the worker came in through the server
    assert run_document(run_dir(box / "report" / "out", MODELS)).exists(), output  # ...and ran the model there
    assert not (ssh_dir / "models").exists()  # the controller ran no model itself

    serial_matrix, ssh_matrix = (json.loads((d / "matrix.json").read_text()) for d in (serial_dir, ssh_dir))
    assert ssh_matrix["models"] == ["original", MODELS]
    assert "incomplete_models" not in ssh_matrix
    assert ssh_matrix["predictions"][MODELS]["checkpoint"]["sha256"]  # a real checkpoint, identified
    assert without_shown_paths(ssh_matrix) == without_shown_paths(serial_matrix)
    serial_doc, ssh_doc = (json.loads((d / "claims.json").read_text()) for d in (serial_dir, ssh_dir))
    for section in ("claims", "probes", "summary"):  # the challenge network's own records, run remotely too
        assert ssh_doc[section] == serial_doc[section], section
