"""The official JavaScript client (socket.io-client from npm, run by Node)
against a real server: a burst of emits in one loop, every one handled,
over long-polling (where the client batches what it queued during a POST
into the next one), WebSocket, and polling upgraded to WebSocket."""
from __future__ import annotations

import json
import subprocess
import threading

import flask
import pytest

from flask_socketio import SocketIO

from _live import LiveServer
from conftest import JS


@pytest.mark.parametrize('transports', ['polling', 'websocket',
                                        'polling,websocket'])
def test_a_burst_of_emits_is_handled_whole(node, transports):
    app = flask.Flask(__name__)
    sio = SocketIO(app, async_mode='threading')
    lock = threading.Lock()
    seen = set()

    @sio.on('count')
    def count(n):
        with lock:
            seen.add(n)

    @sio.on('total')
    def total():
        with lock:
            return len(seen)

    server = LiveServer(sio, app).start()
    try:
        result = subprocess.run(
            [node, str(JS / 'burst.js'), server.url, '500', transports],
            cwd=JS, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        outcome = json.loads(result.stdout.strip().splitlines()[-1])
        assert outcome.get('total') == 500, outcome
        assert seen == set(range(500))
        assert outcome['transport'] == transports.split(',')[-1]
    finally:
        server.stop()
