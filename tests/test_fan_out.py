"""Delivery of an emit: ``_speedups.fan_out`` (compiled and pure) and the
``FanOut`` client manager on it, against Engine.IO sockets that record what
they are handed (the end-to-end tests cover real transports)."""
import json
import logging

import pytest
import socketio

from flask_socketio._engine import FanOut, Server, with_fan_out


class Recorder:
    """An Engine.IO socket as the fan-out sees it: ``closed`` and
    ``send(pkt)``; it encodes what it gets, as a transport's writer would."""

    def __init__(self, closed=False):
        self.closed = closed
        self.packets = []
        self.sent = []

    def send(self, pkt):
        self.packets.append(pkt)
        self.sent.append((pkt.packet_type, pkt.encode()))


def test_fan_out_sends_every_packet_to_every_open_participant(codec):
    sockets = {'e1': Recorder(), 'e2': Recorder(), 'e3': Recorder(),
               'e4': Recorder(closed=True)}
    participants = [('s1', 'e1'), ('s2', 'e2'), ('s3', 'e3'), ('s4', 'e4'),
                    ('s5', 'e5')]
    packets = [codec.EioPacket(4, '51-["ev",{"_placeholder":true,"num":0}]'),
               codec.EioPacket(4, b'\x00\x01')]
    missing = codec.fan_out(sockets, iter(participants), ['s2'], packets)
    assert missing == ['e4', 'e5']
    expected = [(4, '451-["ev",{"_placeholder":true,"num":0}]'),
                (4, b'\x00\x01')]
    assert sockets['e1'].sent == expected
    assert sockets['e3'].sent == expected
    assert sockets['e2'].sent == [] and sockets['e4'].sent == []
    assert codec.fan_out(sockets, [('s1', 'e1')], [None], packets) is None


def test_fan_out_needs_pairs(codec):
    with pytest.raises((TypeError, ValueError)):
        codec.fan_out({}, ['not-a-pair'], [], [])


def _server(**options):
    server = Server(async_mode='threading', **options)
    for n in range(1, 5):
        server.eio.sockets[f'e{n}'] = Recorder()
        server.manager.connect(f'e{n}', '/')
    return server


def _sid(server, n):
    return server.manager.sid_from_eio_sid(f'e{n}', '/')


def _received(server, n):
    return [data for _, data in server.eio.sockets[f'e{n}'].sent]


def test_the_default_client_manager_is_fan_out():
    assert type(_server().manager) is FanOut
    assert type(_server(json=json).manager) is FanOut
    custom = socketio.Manager()
    assert _server(client_manager=custom).manager is custom


def test_emit_to_rooms_skipping_sids():
    server = _server()
    server.enter_room(_sid(server, 1), 'a')
    server.enter_room(_sid(server, 2), 'a')
    server.enter_room(_sid(server, 3), 'b')
    server.emit('ev', {'x': 1}, to='a')
    server.emit('ev', (1, 2), to=['a', 'b'], skip_sid=_sid(server, 1))
    server.emit('ev', None, skip_sid=[_sid(server, 2), _sid(server, 3)])
    assert _received(server, 1) == ['42["ev",{"x":1}]', '42["ev"]']
    assert _received(server, 2) == ['42["ev",{"x":1}]', '42["ev",1,2]']
    assert _received(server, 3) == ['42["ev",1,2]']
    assert _received(server, 4) == ['42["ev"]']
    server.emit('ev', 1, namespace='/nowhere')  # no such namespace: nothing
    assert _received(server, 4) == ['42["ev"]']


def test_binary_emit_is_encoded_once_for_every_recipient():
    server = _server()
    server.emit('ev', {'blob': b'\xff'})
    frames = ['451-["ev",{"blob":{"_placeholder":true,"num":0}}]', b'\xff']
    for n in range(1, 5):
        assert _received(server, n) == frames
    # the very same packet objects: framed once, whatever the transport
    first = server.eio.sockets['e1'].packets
    for n in range(2, 5):
        assert all(mine is theirs for mine, theirs in
                   zip(server.eio.sockets[f'e{n}'].packets, first))


def test_emit_with_callback_gives_each_recipient_its_own_id():
    server = _server()
    server.emit('ev', 'x', to=_sid(server, 3), callback=lambda *a: None)
    assert _received(server, 3) == ['421["ev","x"]']


def test_closed_and_missing_sockets_are_logged_and_skipped(caplog):
    server = _server()
    server.eio.sockets['e2'].closed = True
    del server.eio.sockets['e3']
    with caplog.at_level(logging.WARNING, logger='engineio.server'):
        server.emit('ev', 1)
    assert _received(server, 1) == _received(server, 4) == ['42["ev",1]']
    assert 'e2' not in server.eio.sockets  # forgotten, as engineio does
    warnings = [r.getMessage() for r in caplog.records]
    assert 'Cannot send to sid e2' in warnings
    assert 'Cannot send to sid e3' in warnings


class _LocalOnly(socketio.PubSubManager):
    """A pub/sub manager whose queue only records what it is given."""
    name = 'local-only'

    def __init__(self):
        super().__init__(channel='test')
        self.published = []

    def _publish(self, data):
        self.published.append(data)

    def _listen(self):  # pragma: no cover (the listener is never started)
        return iter(())


def test_pub_sub_managers_deliver_locally_through_fan_out():
    manager = with_fan_out(_LocalOnly)()
    assert isinstance(manager, _LocalOnly) and isinstance(manager, FanOut)
    assert type(manager).__name__ == '_LocalOnly'
    server = _server(client_manager=manager)
    server.emit('ev', {'blob': b'\xff'}, skip_sid=_sid(server, 4))
    assert manager.published[0]['event'] == 'ev'  # other hosts are told
    frames = ['451-["ev",{"blob":{"_placeholder":true,"num":0}}]', b'\xff']
    for n in range(1, 4):
        assert _received(server, n) == frames
    assert _received(server, 4) == []
    # FanOut's shared packets (python-socketio's manager, through the
    # server's repair, would hand each recipient a copy of the binary one)
    first = server.eio.sockets['e1'].packets
    assert all(mine is theirs for mine, theirs in
               zip(server.eio.sockets['e3'].packets, first))


@pytest.mark.parametrize('always_connect', [False, True])
def test_a_connect_is_answered_once_the_client_counts_as_connected(
        always_connect):
    # python-socketio sends the answer before its manager counts the
    # client; a disconnect of the sid the client was just given would be
    # ignored (seen: a kick from an HTTP route right after connecting)
    from flask import Flask
    from flask_socketio import SocketIO
    app = Flask(__name__)
    sio = SocketIO(app, always_connect=always_connect)
    server = sio.server
    counted = []
    send = server.eio.send_packet

    def spy(eio_sid, pkt):
        data = pkt.data if isinstance(pkt.data, str) else ''
        if data.startswith('0{'):
            sid = json.loads(data[1:])['sid']
            counted.append(server.manager.is_connected(sid, '/'))
        return send(eio_sid, pkt)
    server.eio.send_packet = spy
    client = sio.test_client(app)
    assert client.is_connected()
    assert counted == [True]
    server.disconnect(server.manager.sid_from_eio_sid(client.eio_sid, '/'))
    assert not client.is_connected()
