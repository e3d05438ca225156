"""Shared fixtures: real services and real servers.

Tests that need a service the machine may lack (Redis, the interpreter with
gevent/eventlet installed, the compiled core) skip with a clear message on a
user's machine; with ``FLASK_SOCKETIO_STRICT_TESTS=1`` (set by ``.ci/run``)
the skip becomes a failure, so CI can never pass by skipping them.
"""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import engineio
import pytest
import socketio

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / 'tests' / 'js'   # the official client's scripts (npm ci here)
STRICT = os.environ.get('FLASK_SOCKETIO_STRICT_TESTS') == '1'


def require(condition: bool, reason: str) -> None:
    """Skip (user run) or fail (strict run) when ``condition`` is false."""
    if condition:
        return
    if STRICT:
        pytest.fail(f'{reason} (FLASK_SOCKETIO_STRICT_TESTS=1 forbids '
                    f'skipping)', pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0,
                  proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f'server exited early with {proc.returncode}')
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'nothing listening on 127.0.0.1:{port}')


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Poll ``predicate`` until it is truthy; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


class _InOrderEngineIOClient(engineio.Client):
    def _trigger_event(self, event, *args, **kwargs):
        if event == 'message':
            kwargs['run_async'] = False  # in the read loop, in arrival order
        return super()._trigger_event(event, *args, **kwargs)


class InOrderClient(socketio.Client):
    """python-socketio's client, handling what it receives one message at a
    time, in arrival order.  Its engine hands each message to a new thread,
    so the parts of a binary packet (separate messages) may be handled out
    of order and the event lost ("Unexpected binary attachment",
    python-socketio issue #436): a client race the tests must not mistake
    for the server's.  (Handlers then must not wait on this client.)"""

    def _engineio_client_class(self):
        return _InOrderEngineIOClient


def _build(name: str, which: str):
    """One build of the compiled core's module ``name``: its pure twin, or
    the compiled one (imported directly, so it is tested in the pure pass
    of ./dev test too)."""
    import importlib
    package = 'flask_socketio._speedups'
    if which == 'pure':
        return importlib.import_module(f'{package}.{name}_py')
    try:
        module = importlib.import_module(f'{package}.{name}_c')
    except ImportError:
        module = None
    require(module is not None, 'the compiled core is not built')
    return module


@pytest.fixture(params=['pure', 'compiled'])
def codec(request):
    """Each build of the packet codec in turn."""
    return _build('codec', request.param)


@pytest.fixture(params=['pure', 'compiled'])
def ws(request):
    """Each build of the WebSocket frame codec in turn."""
    return _build('websocket', request.param)


@pytest.fixture(scope='session')
def redis_url() -> str:
    url = os.environ.get('FLASK_SOCKETIO_TEST_REDIS', 'redis://127.0.0.1:6379/0')
    try:
        import redis
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        ok = True
    except Exception:
        ok = False
    require(ok, f'no Redis answers at {url}; start redis-server to run the '
                f'message-queue tests')
    return url


@pytest.fixture(scope='session')
def async_python() -> str:
    """An interpreter with this package plus gevent, gevent-websocket and
    eventlet.  They live in a separate environment because their mere
    presence changes every app's default async mode."""
    python = os.environ.get('FLASK_SOCKETIO_ASYNC_PYTHON', '')
    ok = False
    if python:
        ok = subprocess.run(
            [python, '-c', 'import gevent, geventwebsocket, eventlet, '
                           'flask_socketio'],
            capture_output=True).returncode == 0
    require(ok, 'FLASK_SOCKETIO_ASYNC_PYTHON does not name an interpreter '
                'with gevent, gevent-websocket and eventlet; ./dev test '
                'sets one up')
    return python


@pytest.fixture
def spawn_server():
    """Start ``python script args...`` as a server process; wait for its
    port; terminate it after the test.  Returns the Popen object."""
    procs = []

    def spawn(python: str, script: Path, port: int, *args: str,
              env: dict | None = None) -> subprocess.Popen:
        full_env = dict(os.environ, PYTHONUNBUFFERED='1')
        full_env.update(env or {})
        proc = subprocess.Popen([python, str(script), str(port), *args],
                                env=full_env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        try:
            wait_for_port(port, proc=proc)
        except Exception:
            proc.kill()
            print(proc.stdout.read())
            raise
        return proc

    yield spawn
    stop_processes(procs)


def stop_processes(procs) -> None:
    """Terminate what still runs of ``procs``; kill what does not end."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope='session')
def node() -> str:
    """Node, with the official client in tests/js/node_modules."""
    import shutil
    node = shutil.which('node')
    require(node is not None and
            (JS / 'node_modules' / 'socket.io-client').is_dir(),
            'Node and tests/js/node_modules are needed (./dev test runs npm '
            'ci in tests/js when npm is installed)')
    return node


@pytest.fixture(scope='session')
def python() -> str:
    return sys.executable


@pytest.fixture
def peers():
    """python-socketio clients for a test, closed (in parallel) after it."""
    from _peers import PeerSet
    created = PeerSet()
    yield created
    created.close()


class ListHandler(logging.Handler):
    """Keeps the records of a logger, for tests to look through."""

    @classmethod
    def capture(cls, name: str):
        """Logger ``name`` at DEBUG, kept to itself, with a new handler:
        ``(logger, handler)`` (remove the handler when done)."""
        log = logging.getLogger(name)
        log.setLevel(logging.DEBUG)
        log.propagate = False
        handler = cls()
        log.addHandler(handler)
        return log, handler

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []
        self._guard = threading.Lock()

    def emit(self, record):
        with self._guard:
            self.records.append(record)

    def mark(self):
        with self._guard:
            return len(self.records)

    def since(self, mark, level=logging.WARNING):
        with self._guard:
            return [r for r in self.records[mark:] if r.levelno >= level]
