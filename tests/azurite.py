"""Azurite's table service on a free loopback port, for tests that need a real Azure Table endpoint.

``azurite_tables`` is a session-scoped fixture (Azurite starts once per test run); a test module
uses it with ``from azurite import azurite_tables``. ``Azurite`` can also be stopped and started
again on the same port and data folder, to test what the store does while the service is down.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_TABLE = REPO_ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite-table"
# The emulator's fixed, publicly documented development account; not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def connection_string(port: int) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Azurite:
    """One azurite-table process; ``start``/``stop`` keep the port and the data folder."""

    def __init__(self, location: Path, port: int | None = None) -> None:
        self.location = location
        self.port = port or free_port()
        self.connection_string = connection_string(self.port)
        self.log_path = location / "azurite.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if self._process is not None:
            return
        if not AZURITE_TABLE.exists():
            raise RuntimeError(f"{AZURITE_TABLE} is missing; run `make setup`")
        args = [
            str(AZURITE_TABLE),
            *("--tableHost", "127.0.0.1", "--tablePort", str(self.port)),
            *("--location", str(self.location)),
            *("--disableTelemetry", "--skipApiVersionCheck", "--silent"),
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"azurite-table did not start on 127.0.0.1:{self.port}; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        # azurite-table saves its data and closes on SIGINT only; SIGTERM loses recent writes.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture(scope="session")
def azurite_tables() -> Iterator[Azurite]:
    """A running Azurite table service shared by the whole test run."""
    with tempfile.TemporaryDirectory(prefix="azurite-") as location, Azurite(Path(location)) as az:
        yield az
