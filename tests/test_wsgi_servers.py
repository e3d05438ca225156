"""WSGI servers other than Werkzeug that hand over their socket, with this
package's transport on: gunicorn's threaded worker (``-k gthread``) and its
gevent workers (gevent's pywsgi, with gevent-websocket's handler or
without), each in a process of its own, reached by real clients over
127.0.0.1."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from _live import TIMEOUT, ClientFactory
from conftest import free_port, wait_for_port

SERVERS = Path(__file__).parent / 'servers'
WORKERS = {
    'gthread': ('threading', ['-k', 'gthread', '--threads', '4']),
    'gevent': ('gevent', ['-k', 'gevent']),
    'geventwebsocket': ('gevent', [
        '-k', 'geventwebsocket.gunicorn.workers.GeventWebSocketWorker']),
}


@pytest.fixture(params=list(WORKERS))
def gunicorn(request):
    mode, worker = WORKERS[request.param]
    python = sys.executable if mode == 'threading' else \
        request.getfixturevalue('async_python')
    port = free_port()
    env = dict(os.environ, FLASK_SOCKETIO_TRANSPORT='native',
               PYTHONPATH=str(SERVERS), WSGI_APP_MODE=mode)
    proc = subprocess.Popen(
        [python, '-m', 'gunicorn', *worker,
         '-w', '1', '-b', f'127.0.0.1:{port}', '--log-level', 'warning',
         'wsgi_app:app'],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_port(port, timeout=TIMEOUT, proc=proc)
        yield f'http://127.0.0.1:{port}'
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=TIMEOUT)
    # gunicorn takes the lost socket quietly: no error, no traceback
    assert 'Traceback' not in out and 'Error' not in out, out


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
