"""Start a real livekit-server on loopback with free ports, for the demo and the tests.

The binary is built by ``scripts/install-livekit-server.sh`` into ``.tools/bin`` (pinned version).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install-livekit-server.sh"


# Below Linux's ephemeral range (32768-60999): a port the kernel handed out for bind(0) is also one
# it may give the next outgoing connection, which took a worker's metrics port in a CI run.
_PORTS = range(20000, 32000)
_handed_out: set[int] = set()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port free on every address now, not yet given to this process, outside the ephemeral range."""
    for _ in range(200):
        port = random.choice(_PORTS)
        if port in _handed_out:
            continue
        try:
            _try_bind(port, kind)
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found between 20000 and 32000")


def _try_bind(port: int, kind: int) -> None:
    try:
        sock = socket.socket(socket.AF_INET6, kind)
        address: tuple[str, int] = ("::", port)  # dual-stack, as the servers bind
    except OSError:  # no IPv6 here
        sock, address = socket.socket(socket.AF_INET, kind), ("0.0.0.0", port)
    with sock:
        sock.bind(address)


def find_binary(install: bool = True) -> Path:
    """Locate livekit-server: ``LIVEKIT_SERVER_BIN``, the repo's .tools, then PATH."""
    env_bin = os.environ.get("LIVEKIT_SERVER_BIN")
    if env_bin:
        return Path(env_bin)
    local = REPO_ROOT / ".tools" / "bin" / "livekit-server"
    if not local.exists() and install and INSTALL_SCRIPT.exists():
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True)
    if local.exists():
        return local
    on_path = shutil.which("livekit-server")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError("livekit-server not found: run scripts/install-livekit-server.sh")


@dataclass
class LocalLiveKitServer:
    """One livekit-server process bound to 127.0.0.1 with its own ports and keys."""

    api_key: str = "devkey"
    api_secret: str = "secret-secret-secret-secret-secret"
    port: int = 0
    tcp_port: int = 0
    udp_port: int = 0
    empty_timeout: int = 10
    departure_timeout: int = 5
    redis_address: str | None = None
    webhook_urls: list[str] = field(default_factory=list)
    log_path: Path | None = None
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.tcp_port = self.tcp_port or free_port()
        self.udp_port = self.udp_port or free_port(socket.SOCK_DGRAM)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config_yaml(self) -> str:
        lines = [
            f"port: {self.port}",
            "bind_addresses: [127.0.0.1]",
            "rtc:",
            f"  tcp_port: {self.tcp_port}",
            f"  udp_port: {self.udp_port}",
            "  use_external_ip: false",
            "  node_ip: 127.0.0.1",
            "  enable_loopback_candidate: true",
            "keys:",
            f"  {self.api_key}: {self.api_secret}",
            "room:",
            f"  empty_timeout: {self.empty_timeout}",
            f"  departure_timeout: {self.departure_timeout}",
            "logging:",
            "  level: info",
        ]
        if self.redis_address:
            lines += ["redis:", f"  address: {self.redis_address}"]
        if self.webhook_urls:
            lines += ["webhook:", f"  api_key: {self.api_key}", "  urls:"]
            lines += [f"    - {u}" for u in self.webhook_urls]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> LocalLiveKitServer:
        binary = find_binary()
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self._proc = subprocess.Popen(
            [str(binary), "--config-body", self.config_yaml()],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"livekit-server exited with code {self._proc.returncode}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(self.http_url, timeout=1) as resp:
                    if resp.status == 200:
                        return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"livekit-server did not answer on {self.http_url} in {timeout}s")

    def stop(self) -> None:
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def __enter__(self) -> LocalLiveKitServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
