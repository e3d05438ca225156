"""WSGI servers other than Werkzeug that hand over their socket, with this
package's transport on: gunicorn's threaded worker (``-k gthread``) and its
gevent workers (gevent's pywsgi, with gevent-websocket's handler or
without), each in a process of its own, reached by real clients over
127.0.0.1."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _live import TIMEOUT, ClientFactory
from conftest import free_port, wait_for_port, wait_until

SERVERS = Path(__file__).parent / 'servers'
WORKERS = {
    'gthread': ('threading', ['-k', 'gthread', '--threads', '4']),
    'gevent': ('gevent', ['-k', 'gevent']),
    'geventwebsocket': ('gevent', [
        '-k', 'geventwebsocket.gunicorn.workers.GeventWebSocketWorker']),
}


def start(request, name, *args):
    """gunicorn serving ``wsgi_app`` with the worker ``name``: the process
    and its URL."""
    mode, worker = WORKERS[name]
    python = sys.executable if mode == 'threading' else \
        request.getfixturevalue('async_python')
    port = free_port()
    env = dict(os.environ, FLASK_SOCKETIO_TRANSPORT='native',
               PYTHONPATH=str(SERVERS), WSGI_APP_MODE=mode)
    proc = subprocess.Popen(
        [python, '-m', 'gunicorn', *worker, *args,
         '-w', '1', '-b', f'127.0.0.1:{port}', '--log-level', 'info',
         'wsgi_app:app'],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=TIMEOUT, proc=proc)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, f'http://127.0.0.1:{port}'


def ended(proc, timeout=TIMEOUT) -> str:
    """Its output, once it has exited (killed past ``timeout``); gunicorn
    takes the lost sockets quietly: no error, no traceback."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert 'Traceback' not in out and 'Error' not in out, out
    return out


@pytest.fixture(params=list(WORKERS))
def gunicorn(request):
    proc, url = start(request, request.param)
    try:
        yield url
    finally:
        proc.terminate()
        ended(proc)


def test_gunicorn_workers_hand_over_websockets(gunicorn):
    factory = ClientFactory()
    try:
        peers = [factory(gunicorn, transports=['websocket'], events=['seq'])
                 for _ in range(20)]
        upgraded = factory(gunicorn, transports=['polling', 'websocket'],
                           events=['seq'])
        info = peers[0].call('info', timeout=TIMEOUT)
        # 4 request threads could not hold 21 connections open: the
        # transport has them, and the request threads are free (the
        # gevent workers have one thread)
        assert info['native'] and info['transport'] == 'websocket'
        assert info['threads'] < 40, info
        for p in peers:
            assert p.call('echo', p.sid, timeout=TIMEOUT) == p.sid
        peers[0].emit('bcast', 50)
        for c in peers + [upgraded]:
            got = c.received.wait_for('seq', 50)
            assert [g[0] for g in got] == list(range(50))
        assert upgraded.call('echo', 'up', timeout=TIMEOUT) == 'up'
    finally:
        factory.close_all()


GRACEFUL = ['gthread', 'gevent']


@contextlib.contextmanager
def stopped_by_the_test(request, name, *args):
    """gunicorn as :func:`start` makes it, and a client factory; whatever
    the test leaves running is ended after it."""
    proc, url = start(request, name, *args)
    factory = ClientFactory()
    try:
        yield proc, url, factory
    finally:
        factory.close_all()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.mark.once
@pytest.mark.parametrize('preload', [False, True], ids=['', 'preload'])
@pytest.mark.parametrize('name', GRACEFUL)
def test_a_graceful_stop_serves_websockets_until_they_end(request, name,
                                                          preload):
    """As python-engineio's WebSockets, requests in flight, are served
    through gunicorn's graceful stop, so are the transport's: until the
    clients leave (their disconnect handlers run), then the worker ends;
    also for an app loaded before the worker is forked."""
    with stopped_by_the_test(request, name, '--graceful-timeout', '60',
                             *(['--preload'] if preload else [])) \
            as (proc, url, factory):
        a, b = (factory(url, transports=['websocket']) for _ in range(2))
        proc.send_signal(signal.SIGTERM)
        time.sleep(2.5)  # past the worker's own stop (its loop ticks: 1 s)
        assert proc.poll() is None
        for c in (a, b):
            assert c.call('echo', c.sid, timeout=TIMEOUT) == c.sid
        a.disconnect()
        time.sleep(0.5)
        assert proc.poll() is None
        assert b.call('echo', 'still', timeout=TIMEOUT) == 'still'
        b.disconnect()
        started = time.monotonic()
        out = ended(proc, timeout=10)
        assert time.monotonic() - started < 5, out
    assert out.count('left ') == 2, out
    assert 'Waiting for 2 WebSocket connection(s) to end' in out, out


@pytest.mark.once
@pytest.mark.parametrize('name', GRACEFUL)
def test_a_graceful_stop_ends_at_the_graceful_timeout(request, name):
    with stopped_by_the_test(request, name, '--graceful-timeout', '2') \
            as (proc, url, factory):
        client = factory(url, transports=['websocket'])
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        ended(proc, timeout=15)
        # the worker's stop (1 s at most), then the 2 s of grace
        assert 2 <= time.monotonic() - stopping < 8
        assert wait_until(lambda: not client.connected, TIMEOUT)


@pytest.mark.once
@pytest.mark.parametrize('name', GRACEFUL)
def test_a_quick_stop_is_not_held(request, name):
    with stopped_by_the_test(request, name, '--graceful-timeout', '60') \
            as (proc, url, factory):
        factory(url, transports=['websocket'])
        stopping = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out = ended(proc, timeout=15)
        assert time.monotonic() - stopping < 5
        assert 'Waiting for' not in out, out
