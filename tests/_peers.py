"""Helpers for the multi-process tests (message queue, async modes): real
python-socketio clients that record what they receive, and small process
utilities.  Every wait here is bounded."""
from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path

from conftest import InOrderClient, wait_until

SERVERS = Path(__file__).resolve().parent / 'servers'
TIMEOUT = 10.0


def unique_channel(tag: str) -> str:
    """A queue channel no other test (or test run) uses."""
    return f'fsio-test-{tag}-{uuid.uuid4().hex}'


class Peer:
    """A ``socketio.Client`` connected to ``url`` that records every event
    it receives (catch-all), plus a few explicit handlers.

    ``answers`` maps an event name to a function whose return value is the
    acknowledgement sent back (used to test the server's ``call()``)."""

    def __init__(self, url: str, transports=None, auth=None, answers=None,
                 name: str = ''):
        self.name = name or url
        self.client = InOrderClient(reconnection=False)
        self._lock = threading.Lock()
        self._events: list = []
        self.disconnects: list = []
        for event, func in (answers or {}).items():
            self.client.on(event, self._answering(event, func))
        self.client.on('*', self._record)
        self.client.on('disconnect', self._on_disconnect)
        self.client.connect(url, transports=transports, auth=auth,
                            wait_timeout=TIMEOUT)

    def _answering(self, event, func):
        def handler(*args):
            self._record(event, *args)
            return func(*args)
        return handler

    def _record(self, event, *args):
        with self._lock:
            self._events.append((event, args))

    def _on_disconnect(self, *args):
        self.disconnects.append(args)

    @property
    def sid(self) -> str:
        return self.client.get_sid()

    def received(self, event: str) -> list:
        """The argument tuples of every ``event`` received so far."""
        with self._lock:
            return [args for name, args in self._events if name == event]

    def first_args(self, event: str) -> list:
        """The first argument of every ``event`` received so far."""
        return [args[0] if args else None for args in self.received(event)]

    def wait_for(self, event: str, count: int = 1,
                 timeout: float = TIMEOUT) -> list:
        ok = wait_until(lambda: len(self.received(event)) >= count, timeout)
        got = self.received(event)
        assert ok, (f'{self.name}: expected {count} "{event}" event(s) '
                    f'within {timeout}s, got {got!r}')
        return got

    def wait_for_value(self, event: str, value, timeout: float = TIMEOUT):
        """Wait until ``event`` arrived with ``value`` as first argument."""
        ok = wait_until(lambda: value in self.first_args(event), timeout)
        assert ok, (f'{self.name}: "{event}" with {value!r} did not arrive '
                    f'within {timeout}s; got {self.first_args(event)!r}')

    def call(self, event: str, data=None, timeout: float = TIMEOUT):
        """Emit ``event`` and return the server's acknowledgement."""
        return self.client.call(event, data, timeout=timeout)

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:
            pass


class PeerSet:
    """Creates peers and disconnects all of them at the end of a test."""

    def __init__(self):
        self.peers: list[Peer] = []

    def __call__(self, *args, **kwargs) -> Peer:
        peer = Peer(*args, **kwargs)
        self.peers.append(peer)
        return peer

    def close(self) -> None:
        # python-engineio's client may wait up to 3 s for a WebSocket close
        # frame (its read thread can take the frame first), so close all at
        # once; each close is bounded by websocket-client's own timeout
        threads = [threading.Thread(target=peer.close, daemon=True)
                   for peer in self.peers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        self.peers.clear()


def output_of(proc: subprocess.Popen) -> str:
    """What a finished (or killed) server process printed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
    try:
        return proc.stdout.read() if proc.stdout else ''
    except Exception as exc:  # pragma: no cover - diagnostics only
        return f'<output unavailable: {exc!r}>'


def wait_exit(proc: subprocess.Popen, timeout: float = TIMEOUT) -> int:
    """Wait (bounded) for ``proc`` to exit by itself; its return code."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'process {proc.args!r} still running after '
                             f'{timeout}s; output:\n{output_of(proc)}')
