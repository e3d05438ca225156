"""Helpers for the end-to-end tests: a real server run by ``socketio.run()``
in a thread of the test process, and real clients over 127.0.0.1."""
from __future__ import annotations

import socket
import threading
import time

from conftest import InOrderClient, free_port, wait_for_port, wait_until

TIMEOUT = 10.0


class LiveServer:
    """``socketio.run(app)`` in a background thread; ``stop()`` ends it via
    ``socketio.stop()`` and checks that ``run()`` really returned."""

    def __init__(self, socketio, app, **run_kwargs):
        self.socketio = socketio
        self.app = app
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.error = None
        self.thread = threading.Thread(target=self._run, args=(run_kwargs,),
                                       daemon=True)

    def _run(self, run_kwargs):
        try:
            self.socketio.run(self.app, host='127.0.0.1', port=self.port,
                              allow_unsafe_werkzeug=True, **run_kwargs)
        except BaseException as exc:  # reported by stop()/start()
            self.error = exc

    def start(self) -> 'LiveServer':
        self.thread.start()
        try:
            wait_for_port(self.port, timeout=TIMEOUT)
        except TimeoutError:
            raise AssertionError(f'server did not start: {self.error!r}')
        return self

    def wait_stopped(self, timeout: float = TIMEOUT) -> None:
        """Assert that ``run()`` returned and the port no longer listens."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'run() did not return after stop()'
        assert self.error is None, f'run() raised {self.error!r}'
        assert not port_open(self.port), 'port still listening after stop()'

    def stop(self) -> None:
        self.socketio.stop()
        self.wait_stopped()


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=0.5):
            return True
    except OSError:
        return False


class Recorder:
    """Collects events received by a python-socketio client (any thread)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.events = []

    def add(self, name, *args):
        with self.lock:
            self.events.append((name, args))

    def of(self, name):
        with self.lock:
            return [args for n, args in self.events if n == name]

    def wait_for(self, name, count=1, timeout=TIMEOUT):
        assert wait_until(lambda: len(self.of(name)) >= count, timeout), \
            f'expected {count} {name!r} event(s), got {self.of(name)}'
        return self.of(name)


class ClientFactory:
    """Makes python-socketio clients; disconnects them all at teardown."""

    def __init__(self):
        self.clients = []

    def __call__(self, url, transports=None, namespaces=None, auth=None,
                 socketio_path='socket.io', events=(), connect=True):
        client = InOrderClient(reconnection=False)
        client.received = Recorder()
        for name in events:
            client.on(name, _recorder(client.received, name))
        self.clients.append(client)
        if connect:
            client.connect(url, transports=transports, namespaces=namespaces,
                           auth=auth, socketio_path=socketio_path,
                           wait_timeout=TIMEOUT)
        return client

    def close_all(self, timeout: float = 5.0):
        """Disconnect every client, in parallel, waiting at most
        ``timeout`` seconds in all (a client stuck in a long-poll is left
        to its daemon threads)."""
        threads = []
        for client in self.clients:
            t = threading.Thread(target=_quiet_disconnect, args=(client,),
                                 daemon=True)
            t.start()
            threads.append(t)
        self.clients = []
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))


def _quiet_disconnect(client):
    try:
        client.disconnect()
    except Exception:
        pass


def _recorder(recorder, name):
    def handler(*args):
        recorder.add(name, *args)
    return handler
