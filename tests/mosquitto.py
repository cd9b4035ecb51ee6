"""A private Mosquitto for tests that stop, restart or configure a broker.

The shared broker on 127.0.0.1:1883 serves everything else; a test that restarts one gets
its own: ``/usr/sbin/mosquitto`` on a free port of 127.0.0.1 with a temporary config and
persistence directory (sessions and retained messages survive a restart, as on a real
install). Optional: users (a password file, anonymous refused) and TLS files.

Use the ``mosquitto`` fixture (a running broker, stopped after the test), or ``Mosquitto``
itself. In a test module: ``from .mosquitto import mosquitto_fixture  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
import os
from pathlib import Path
import pwd
import shutil
import signal
import socket
import subprocess

import pytest

BROKER = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
HOST = "127.0.0.1"
SHARED_PORT = 1883  # the machine's broker (scripts/ensure-mosquitto)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files of a TLS listener: the CA that signed the server, the server's cert and key."""

    ca: Path
    cert: Path
    key: Path


class Mosquitto:
    """One private broker process: ``start``, ``stop`` (SIGTERM: it saves), ``restart``."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tls: TlsFiles | None = None,
        autosave_interval: int = 1,
    ) -> None:
        """Configure (not start) a broker living in ``directory``."""
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {HOST}",
            "persistence true",
            f"persistence_location {directory}/",
            f"autosave_interval {autosave_interval}",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type all",
            # Run as root (CI containers), mosquitto would switch to a user who cannot
            # write the temporary directory.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        if users:
            password_file = directory / "passwords"
            for index, (user, password) in enumerate(users.items()):
                create = ["-c"] if index == 0 else []
                subprocess.run(
                    [PASSWD, *create, "-b", str(password_file), user, password],
                    check=True,
                    capture_output=True,
                )
            lines += ["allow_anonymous false", f"password_file {password_file}"]
        else:
            lines.append("allow_anonymous true")
        if tls:
            lines += [f"cafile {tls.ca}", f"certfile {tls.cert}", f"keyfile {tls.key}"]

        self.config = directory / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """The broker's log so far (for failure messages)."""
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def start(self, timeout: float = 10.0) -> None:
        """Start the broker and wait until it accepts connections."""
        assert not self.running, "already running"
        self.process = subprocess.Popen(
            [BROKER, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        async with asyncio.timeout(timeout):
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited at start:\n{self.log()}")
                try:
                    _, writer = await asyncio.open_connection(HOST, self.port)
                except OSError:
                    await asyncio.sleep(0.02)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the broker saves sessions and retained messages) and wait for the exit."""
        await self._end(signal.SIGTERM, timeout)

    async def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL: a crash, nothing saved since the last autosave."""
        await self._end(signal.SIGKILL, timeout)

    async def restart(self) -> None:
        """Stop (saving) and start again on the same port and persistence."""
        await self.stop()
        await self.start()

    async def _end(self, sig: signal.Signals, timeout: float) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            async with asyncio.timeout(timeout):
                while process.poll() is None:
                    await asyncio.sleep(0.02)
        except TimeoutError:
            process.kill()
            process.wait()


@pytest.fixture(name="mosquitto")
async def mosquitto_fixture(tmp_path: Path) -> AsyncIterator[Mosquitto]:
    """A private broker, running; stopped after the test."""
    broker = Mosquitto(tmp_path / "mosquitto")
    await broker.start()
    yield broker
    await broker.stop()
