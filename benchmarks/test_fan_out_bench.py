"""Broadcast of one event to a room of 1,000 clients: stock python-socketio
(its client manager and packet classes, through engineio's send_packet)
against this project's FanOut manager on the pure and compiled cores, to
sockets that only encode what they get and to python-engineio's own
sockets (their queues included; writer threads and system calls are not).
"""
import pytest
import socketio
from engineio.socket import Socket as EngineIOSocket

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


def _engineio_socket(server, eio_sid):
    sock = EngineIOSocket(server.eio, eio_sid)
    sock.connected = True
    return sock


@pytest.mark.parametrize('impl', CODECS)
@pytest.mark.parametrize('sockets', ['recording', 'engineio'])
def test_broadcast(benchmark, monkeypatch, impl, sockets):
    """``recording``: sockets that only encode what they get (the server's
    own cost per recipient); ``engineio``: python-engineio's own sockets,
    whose queues a writer (here, the benchmark) drains and encodes."""
    benchmark.group = f'broadcast to {ROOM_SIZE} {sockets} sockets'
    codec = CODECS[impl]
    if codec is None:
        server = socketio.Server(async_mode='threading')
    else:
        monkeypatch.setattr('flask_socketio._speedups.fan_out',
                            codec.fan_out)
        monkeypatch.setattr('flask_socketio._speedups.EioPacket',
                            codec.EioPacket)
        server = Server(async_mode='threading', serializer=codec.Packet)
    members = []
    for n in range(ROOM_SIZE):
        sock = (Socket() if sockets == 'recording'
                else _engineio_socket(server, f'e{n}'))
        server.eio.sockets[f'e{n}'] = sock
        server.enter_room(server.manager.connect(f'e{n}', '/'), 'room')
        members.append(sock)

    drained = [0, 0]  # engineio sockets: packets from the first, the last

    def broadcast():
        server.emit('chat', SMALL[1], to='room')
        if sockets == 'engineio':
            for i, sock in enumerate(members):
                while not sock.queue.empty():
                    sock.queue.get_nowait().encode()
                    drained[0] += i == 0
                    drained[1] += i == ROOM_SIZE - 1
    benchmark(broadcast)
    if sockets == 'recording':
        drained = [members[0].count, members[-1].count]
    assert drained[0] == drained[1] > 0
