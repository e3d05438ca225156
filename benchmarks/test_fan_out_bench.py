"""Broadcast of one event to a room of 1,000 clients: stock python-socketio
(its client manager and packet classes, through engineio's send_packet)
against this project's FanOut manager on the pure and compiled cores.

The sockets only encode what they are handed, as a transport's writer
would, so this measures the server's own cost per recipient; the transport
(queues, writer threads, system calls) comes on top in both.
"""
import pytest
import socketio

from flask_socketio._engine import Server
from flask_socketio._speedups import codec_py
from payloads import SMALL

try:
    from flask_socketio._speedups import codec_c
except ImportError:
    codec_c = None

ROOM_SIZE = 1000
CODECS = {'stock': None, 'pure': codec_py}
if codec_c is not None:
    CODECS['compiled'] = codec_c


class Socket:
    closed = False

    def __init__(self):
        self.count = 0

    def send(self, pkt):
        pkt.encode()
        self.count += 1

    def check_ping_timeout(self):
        return True


@pytest.mark.parametrize('impl', CODECS)
def test_broadcast(benchmark, monkeypatch, impl):
    benchmark.group = f'broadcast to {ROOM_SIZE}'
    codec = CODECS[impl]
    if codec is None:
        server = socketio.Server(async_mode='threading')
    else:
        monkeypatch.setattr('flask_socketio._speedups.fan_out',
                            codec.fan_out)
        monkeypatch.setattr('flask_socketio._speedups.EioPacket',
                            codec.EioPacket)
        server = Server(async_mode='threading', serializer=codec.Packet)
    sockets = []
    for n in range(ROOM_SIZE):
        sock = Socket()
        server.eio.sockets[f'e{n}'] = sock
        server.enter_room(server.manager.connect(f'e{n}', '/'), 'room')
        sockets.append(sock)
    benchmark(server.emit, 'chat', SMALL[1], to='room')
    assert sockets[0].count == sockets[-1].count > 0
