"""Ray state: the tests' clusters ignore the user's ~/.ray, ``--ray local`` listens on the
loopback interface only and leaves nothing in the home folder, and an address where no
cluster listens is a one-line error."""

import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from rnnlab.errors import ConfigError
from rnnlab.sweep.executors import _check_reachable, _ray_cluster

_AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")
_STALE = "0123abcd" * 8  # a token of an earlier local session, not of any running cluster


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty home folder and a Ray temp folder of the test's own (``RAY_TMPDIR``: short, as
    Ray's socket paths must fit in 107 bytes), with no Ray authentication settings in the
    environment."""
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    for k in _AUTH_ENV:
        monkeypatch.delenv(k, raising=False)
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    yield h
    shutil.rmtree(ray_tmp, ignore_errors=True)


@pytest.fixture
def stale_home(home):
    """A home folder holding ``~/.ray/auth_token`` from an earlier session: ``ray start`` turns
    token authentication on when it finds one, and with it the old Ray test cluster refused
    the test's connection."""
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(_STALE)
    return home


def test_test_cluster_ignores_a_stale_token_in_home(stale_home, ray_cluster):
    pytest.importorskip("ray")
    with _ray_cluster(ray_cluster) as ray:
        assert ray.cluster_resources()["CPU"] == 2
    assert (stale_home / ".ray" / "auth_token").read_text() == _STALE


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it (from the parent ids in /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        todo.extend(children.get(p, []))
    return out


def _ip(hex_addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_addr)
    raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    ip = ipaddress.ip_address(raw)
    return getattr(ip, "ipv4_mapped", None) or ip


def _listening(pids: set[int]) -> list[tuple[str, int]]:
    """The TCP sockets in LISTEN state (``0A``) that processes ``pids`` hold: (address, port)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[len("socket:["):-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:
                addr, port = f[1].split(":")
                found.append((str(_ip(addr)), int(port, 16)))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").is_file(), reason="reads listening sockets from Linux's /proc")
def test_local_cluster_listens_on_loopback_only_and_leaves_no_token(home):
    pytest.importorskip("ray")
    with _ray_cluster("local") as ray:
        sockets = _listening(_descendants(os.getpid()))
        # its workers authenticate with the cluster's own token too
        assert ray.get(ray.remote(lambda x: 2 * x).remote(21)) == 42
    assert len(sockets) >= 3  # at least the GCS, the raylet and this driver
    assert all(ipaddress.ip_address(a).is_loopback for a, _ in sockets), sockets
    assert not (home / ".ray").exists()
    assert not any(k in os.environ for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"))


def test_ray_address_without_a_cluster_is_a_one_line_error(tmp_path, free_port):
    pytest.importorskip("ray")
    spec = {"name": "nocluster", "base": {"task": {"name": "flipflop"}, "model": {"params": {"hidden_size": 4}},
                                          "train": {"steps": 1}}, "seeds": 1}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec))
    address = f"127.0.0.1:{free_port}"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", "from rnnlab.cli import main; main()", "sweep", "run",
                           str(tmp_path / "sweep.yaml"), "--ray", address, "--out", str(tmp_path / "runs"),
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --ray: no Ray cluster at {address}"), proc.stderr
    assert time.monotonic() - t0 < 60  # Ray's own retries would take minutes


def test_malformed_ray_address_names_the_option():
    with pytest.raises(ConfigError, match="--ray: expected host:port"):
        _check_reachable("localhost:port")
