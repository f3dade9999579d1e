"""Ray clusters: a batch joins one only when asked, works on every node of a `ray start` cluster, and says in
one line what a token-protected cluster needs.

Every Ray here is this module's own: nodes started with ``ray start --block`` in their own process group and
under their own temporary directory (``RAY_TMPDIR``), torn down by killing those groups. ``ray stop`` is never
called: it would stop every Ray on the machine, other people's included.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from engine.audio import load_recording
from engine.store import Store
from tests.audio_factory import write_audio
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow
CALLQA = [sys.executable, "-m", "engine.cli.main"]
RAY = str(Path(sys.executable).with_name("ray"))
AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")
STARTUP_S = 180  # a node on a loaded 2-core machine can take a minute to come up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(ray_tmpdir: Path, **variables: str) -> dict[str, str]:
    """This process's environment without any Ray address or credentials, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if k not in AUTH_VARIABLES}
    env.update(RAY_TMPDIR=str(ray_tmpdir), COLUMNS="200", **variables)
    return env


def _start_node(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    """``ray start --block`` in a process group of its own, every port its own (several Rays share this machine)."""
    root.mkdir(parents=True, exist_ok=True)
    ports = ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port",
             "--metrics-export-port", "--node-manager-port", "--object-manager-port")
    command = [RAY, "start", "--block", "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
               "--object-store-memory", str(80 * 1024 * 1024), "--disable-usage-stats", *args]
    for option in ports:
        command += [option, str(_free_port())]
    with open(root / "ray_start.log", "wb") as log:
        return subprocess.Popen(command, env={**env, "RAY_TMPDIR": str(root)}, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd=PROJECT_ROOT)


def _head_options(port: int) -> list[str]:
    return ["--head", "--port", str(port), "--include-dashboard", "false", "--dashboard-port", str(_free_port()),
            "--ray-client-server-port", str(_free_port())]


def _kill(process: subprocess.Popen) -> None:
    """SIGKILL every process of the node's session (GCS, raylet, agents, and the workers, which the raylet puts
    in process groups of their own): a crash, not a clean stop, and nobody else's Ray touched."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) == process.pid:
                    os.kill(int(entry.name), signal.SIGKILL)
    process.wait(timeout=30)


def _alive_nodes(port: int, token: str) -> list[str]:
    """The hex ids of the cluster's live nodes, asked of its GCS directly (no driver needed)."""
    from ray.core.generated import gcs_pb2, gcs_service_pb2, gcs_service_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel).GetAllNodeInfo(
                gcs_service_pb2.GetAllNodeInfoRequest(), timeout=5,
                metadata=(("authorization", f"Bearer {token}"),))
        except grpc.RpcError:
            return []
    return [node.node_id.hex() for node in reply.node_info_list
            if node.state == gcs_pb2.GcsNodeInfo.GcsNodeState.ALIVE]


def _wait_for(condition, what: str, processes: list[subprocess.Popen], root: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in root.rglob("ray_start.log"))
                pytest.fail(f"`ray start` exited with {process.returncode} before {what}:\n{logs}")
        time.sleep(1)
    pytest.fail(f"no {what} within {STARTUP_S} s")


@dataclass
class TokenCluster:
    """A two-node cluster made by `ray start`, token authentication on, both nodes on 127.0.0.1."""

    root: Path
    port: int
    token: str
    token_file: Path
    nodes: list[str] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def token_cluster() -> Iterator[TokenCluster]:
    # Short paths: Ray's Unix sockets live under the temporary directory and must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="cqray", dir="/tmp"))
    token_file = root / "auth_token"
    token_file.write_text(secrets.token_hex(32))
    cluster = TokenCluster(root, _free_port(), token_file.read_text(), token_file)
    env = _environment(root, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(token_file))
    processes = [_start_node(root / "head", env, *_head_options(cluster.port))]
    try:
        _wait_for(lambda: len(_alive_nodes(cluster.port, cluster.token)) == 1, "head node", processes, root)
        processes.append(_start_node(root / "worker", env, "--address", cluster.address))
        _wait_for(lambda: len(_alive_nodes(cluster.port, cluster.token)) == 2, "second node", processes, root)
        cluster.nodes = _alive_nodes(cluster.port, cluster.token)
        yield cluster
    finally:
        for process in reversed(processes):
            _kill(process)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def short_calls(tmp_path_factory) -> Path:
    """Four distinct 5 s cuts of the shipped two-speaker telephone sample: enough work for two nodes."""
    folder = tmp_path_factory.mktemp("cluster_day")
    recording = load_recording(PROJECT_ROOT / "samples" / "telephone_2spk.wav")
    rate = recording.sample_rate
    for n, start in enumerate((2, 8, 14, 20)):
        write_audio(folder / f"call{n}.wav", recording.samples[0][start * rate:(start + 5) * rate], rate)
    return folder


def _batch(folder: Path, db: Path, env: dict[str, str], *extra: str,
           timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([*CALLQA, "batch", str(folder), "--db", f"sqlite:///{db}", *extra], env=env,
                          capture_output=True, text=True, timeout=timeout, cwd=db.parent)


def _done(db: Path) -> list[str]:
    with Store.open(f"sqlite:///{db}") as store:
        return sorted(c.call_id for c in store.calls() if c.status == "done")


def test_a_batch_with_address_works_on_both_nodes_of_a_ray_start_cluster(token_cluster, short_calls, tmp_path):
    env = _environment(token_cluster.root / "client", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token_cluster.token)
    # Two actors of one CPU each on two one-CPU nodes: Ray must place one on each node.
    result = _batch(short_calls, tmp_path / "cluster.db", env, "--address", token_cluster.address, "--workers", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert _done(tmp_path / "cluster.db") == ["call0", "call1", "call2", "call3"], result.stdout + result.stderr
    row = next(line for line in result.stdout.splitlines() if "calls per Ray node" in line)
    worked = {node: int(count) for node, count in re.findall(r"([0-9a-f]{8}) ×(\d+)", row)}
    assert sorted(worked) == sorted(node[:8] for node in token_cluster.nodes), row
    assert all(count >= 1 for count in worked.values()) and sum(worked.values()) == 4, row


def test_a_cluster_needing_a_token_the_environment_lacks_gets_one_line_and_a_quick_exit(
        token_cluster, short_calls, tmp_path):
    env = _environment(token_cluster.root / "client")
    result = _batch(short_calls, tmp_path / "no_token.db", env, "--address", token_cluster.address, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-3000:]
    assert token_cluster.address in lines[0] and "needs a token" in lines[0]
    assert "RAY_AUTH_MODE=token" in lines[0] and "RAY_AUTH_TOKEN" in lines[0] and "auth_token" in lines[0]
    assert _done(tmp_path / "no_token.db") == []


def test_joining_is_refused_within_seconds_of_asking(token_cluster, tmp_path):
    """The join itself, timed apart from the CLI's imports (which a loaded machine makes slow)."""
    probe = ("import os, sys, time\nimport ray._private.services as services\n"
             "from workers.cluster import ClusterError, start_ray\n"
             "if os.environ.get('HIDE_LOCAL_NODES'):\n    services.find_node_ids = lambda: []\n"
             "started = time.perf_counter()\n"
             "try:\n    start_ray(sys.argv[1], 5.0)\nexcept ClusterError as exc:\n"
             "    print(f'{time.perf_counter() - started:.2f} {type(exc).__name__}')\n")
    cases = {  # environment → the refusal expected
        "no token": ({}, "ClusterToken"),
        "wrong token": ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "not-the-token"}, "ClusterToken"),
        "token mode, no token anywhere": ({"RAY_AUTH_MODE": "token", "HOME": str(tmp_path)}, "ClusterToken"),
        # The right token from a machine that is no node of the cluster (its nodes hidden from the client).
        "no local node": ({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token_cluster.token,
                           "HIDE_LOCAL_NODES": "1"}, "ClusterUnreachable"),
    }
    for case, (variables, expected) in cases.items():
        env = _environment(tmp_path / "client", **variables)
        result = subprocess.run([sys.executable, "-c", probe, token_cluster.address], env=env, capture_output=True,
                                text=True, timeout=300, cwd=PROJECT_ROOT)
        assert result.stdout.split()[1:] == [expected], f"{case}: {result.stdout} {result.stderr[-2000:]}"
        assert float(result.stdout.split()[0]) < 5.0, f"{case}: {result.stdout}"
    nobody = f"127.0.0.1:{_free_port()}"
    result = subprocess.run([sys.executable, "-c", probe, nobody], env=_environment(tmp_path / "client"),
                            capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.stdout.split()[1:] == ["ClusterUnreachable"], result.stderr[-2000:]
    assert float(result.stdout.split()[0]) < 5.0, result.stdout


def test_a_local_batch_finishes_while_a_dead_cluster_is_recorded_on_the_machine(short_calls, tmp_path):
    root = Path(tempfile.mkdtemp(prefix="cqdead", dir="/tmp"))
    try:
        port = _free_port()
        env = _environment(root, RAY_AUTH_MODE="disabled")
        head = _start_node(root, env, *_head_options(port))
        record = root / "ray" / "ray_current_cluster"
        try:
            _wait_for(record.exists, "recorded head", [head], root)
        finally:
            _kill(head)  # the head dies as a crash would leave it: its record stays
        assert record.read_text().strip().endswith(f":{port}")
        one_call = tmp_path / "one"
        one_call.mkdir()
        shutil.copy(short_calls / "call0.wav", one_call / "call0.wav")
        # Both ways a machine remembers a cluster point at the dead one: the record and RAY_ADDRESS.
        batch_env = _environment(root, RAY_ADDRESS=record.read_text().strip())
        result = _batch(one_call, tmp_path / "local.db", batch_env, "--workers", "1", timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        assert _done(tmp_path / "local.db") == ["call0"], result.stdout + result.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)
