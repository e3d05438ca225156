"""Smoke tests of the gevent and eventlet async modes, for real.

The servers (``tests/servers/gevent_server.py``, ``eventlet_server.py``)
monkey-patch, build ``tests/servers/async_app.py`` with the mode, and serve
it with ``socketio.run()``.  They run under the interpreter that has gevent
and eventlet (fixture ``async_python``); this process, where neither is
installed, drives them with python-socketio clients in plain threads over
WebSocket only, long-polling only, and polling upgraded to WebSocket.
Every test ends with ``socketio.stop()`` sent by a client event, and checks
that the server process then exits by itself with code 0.
"""
from __future__ import annotations

import pytest
import socketio as sio_lib

from conftest import free_port, wait_until
from flask_socketio import speedups
from _peers import SERVERS, TIMEOUT, output_of, wait_exit

MODES = {
    'gevent': ('gevent_server.py', 'gevent.pywsgi'),
    'eventlet': ('eventlet_server.py', 'eventlet.greenthread'),
}
TRANSPORTS = {
    'websocket': (['websocket'], 'websocket'),
    'polling': (['polling'], 'polling'),
    'upgrade': (None, 'websocket'),
}
AUTH = {'token': 'secret', 'user': 'ann'}


@pytest.fixture
def start(spawn_server, async_python):
    """Start the server of a mode; returns (process, base URL)."""
    def start_mode(mode):
        port = free_port()
        proc = spawn_server(async_python, SERVERS / MODES[mode][0], port)
        return proc, f'http://127.0.0.1:{port}'
    return start_mode


def answer(question):
    return {'double': question * 2}


def connect(peers, url, transports, name, auth=AUTH):
    return peers(url, transports=transports, auth=auth, name=name,
                 answers={'question': answer})


def stop_and_check_exit(proc, peer):
    """Stop the server through a client event; it must exit by itself.

    The event's acknowledgement is not awaited: the process may end (as it
    should) before its transport flushes it."""
    peer.client.emit('stop')
    code = wait_exit(proc, timeout=TIMEOUT)
    out = output_of(proc)
    assert code == 0, f'server exited with {code}:\n{out}'
    assert 'run() returned' in out, out


@pytest.mark.parametrize('transport', list(TRANSPORTS))
@pytest.mark.parametrize('mode', list(MODES))
def test_events_over_transport(start, peers, mode, transport):
    proc, url = start(mode)
    transports, expected_transport = TRANSPORTS[transport]

    # auth: a wrong or missing token is refused with the handler's reason.
    # Over WebSocket only: on polling, python-engineio's client can lose its
    # own CLOSE packet when a refusal arrives with its POST's response (a
    # race in the client's write loop), and connect() then waits for the
    # 25 s ping before it raises.
    for bad in ({'token': 'wrong'}, None):
        client = sio_lib.Client(reconnection=False)
        errors = []
        client.on('connect_error', errors.append)
        with pytest.raises(sio_lib.exceptions.ConnectionError):
            client.connect(url, transports=['websocket'], auth=bad,
                           wait_timeout=TIMEOUT)
        assert errors == [{'message': 'bad token'}]
        assert not client.connected
        client.disconnect()

    one = connect(peers, url, transports, 'one')
    two = connect(peers, url, transports, 'two')
    assert wait_until(lambda: one.client.transport() == expected_transport
                      and two.client.transport() == expected_transport,
                      TIMEOUT), (one.client.transport(),
                                 two.client.transport())

    # the connect handler emitted the async mode and the auth it saw
    for peer in (one, two):
        [(welcome,)] = peer.wait_for('welcome')
        assert welcome == {'async_mode': mode, 'sid': peer.sid,
                           'user': 'ann'}
    info = one.call('info')
    # the server runs the core of this pass (compiled, or pure in pass 2)
    assert info == {'async_mode': mode, 'engine_mode': mode,
                    'core': speedups.implementation,
                    'server': MODES[mode][1], 'sid': one.sid}

    # emit with acknowledgement, JSON and binary
    payload = {'text': 'héllo', 'n': [1, 2.5, None, True]}
    assert one.call('echo', payload) == payload
    blob = bytes(range(256)) * 4
    assert two.call('binary', {'blob': blob}) == {
        'size': len(blob), 'reversed': blob[::-1], 'is_bytes': True}

    # broadcast reaches both clients, the sender included
    assert one.call('broadcast', {'hi': 1, 'raw': b'\x00\xff'}) is True
    for peer in (one, two):
        assert peer.wait_for('bcast') == [({'hi': 1, 'raw': b'\x00\xff'},)]

    # rooms: only the member gets the room's emit; the non-member gets the
    # broadcast sent after it (same connection, in order) and nothing else
    assert two.call('join', 'den') == sorted(['den', two.sid])
    assert one.call('to_room', {'room': 'den', 'data': 'psst'}) is True
    assert one.call('broadcast', 'after') is True
    two.wait_for_value('room_msg', 'psst')
    one.wait_for_value('bcast', 'after')
    assert one.received('room_msg') == []

    # the server calls the client and waits for its answer
    assert one.call('ask', 21) == {'answer': {'double': 42}}
    assert one.received('question') == [(21,)]

    # background tasks: one joined by the handler, one left running
    assert two.call('ticker', 5) == 'joined'
    two.wait_for('tick', 10)
    assert two.first_args('tick') == list(range(5)) * 2
    assert one.received('tick') == []

    stop_and_check_exit(proc, one)
    assert wait_until(lambda: not two.client.connected, TIMEOUT)


@pytest.mark.parametrize('mode', list(MODES))
def test_mixed_transports_share_broadcasts_and_rooms(start, peers, mode):
    """WebSocket, polling and upgraded clients on one server: a broadcast
    with a binary attachment (encoded once, sent on both transports) and a
    room emit reach each of them."""
    proc, url = start(mode)
    clients = {name: connect(peers, url, transports, name)
               for name, (transports, _) in TRANSPORTS.items()}
    for name, peer in clients.items():
        assert wait_until(
            lambda: peer.client.transport() == TRANSPORTS[name][1], TIMEOUT)
        assert peer.wait_for('welcome')[0][0]['async_mode'] == mode

    data = {'blob': b'\x00binary\xff' * 100, 'text': 'x'}
    for sender in clients.values():
        assert sender.call('broadcast', data) is True
    for peer in clients.values():
        peer.wait_for('bcast', 3)
        assert peer.first_args('bcast') == [data] * 3

    for name in ('polling', 'upgrade'):
        clients[name].call('join', 'mix')
    assert clients['websocket'].call(
        'to_room', {'room': 'mix', 'data': b'\x01\x02'}) is True
    assert clients['websocket'].call('broadcast', 'end') is True
    for peer in clients.values():
        peer.wait_for_value('bcast', 'end')
    assert clients['polling'].first_args('room_msg') == [b'\x01\x02']
    assert clients['upgrade'].first_args('room_msg') == [b'\x01\x02']
    assert clients['websocket'].received('room_msg') == []

    stop_and_check_exit(proc, clients['polling'])
