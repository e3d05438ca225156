"""WebSocket frames, the server's side: wsproto (the sans-I/O core under
simple-websocket, stock's WebSocket in threading mode) against this
project's pure-Python and compiled frame codec, in the same run."""
import os
import struct

import pytest
from wsproto.connection import Connection, ConnectionType
from wsproto.events import TextMessage

from flask_socketio._speedups import websocket_py

try:
    from flask_socketio._speedups import websocket_c
except ImportError:
    websocket_c = None

IMPLEMENTATIONS = {'stock': None, 'pure': websocket_py}
if websocket_c is not None:
    IMPLEMENTATIONS['compiled'] = websocket_c

SMALL = '42["chat",{"user":"ann","text":"hello there"}]'
KEY = os.urandom(4)


def _client_frame(opcode, payload):
    masked = bytes(b ^ KEY[i & 3] for i, b in enumerate(payload))
    n = len(payload)
    if n < 126:
        header = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        header = struct.pack('!BBH', 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack('!BBQ', 0x80 | opcode, 0x80 | 127, n)
    return header + KEY + masked


FRAMES = {'small text': (_client_frame(1, SMALL.encode()), SMALL),
          '64 KB binary': (_client_frame(2, bytes(range(256)) * 256),
                           bytes(range(256)) * 256)}


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('frame', FRAMES)
def test_receive(benchmark, frame, impl):
    benchmark.group = f'ws receive {frame}'
    data, expected = FRAMES[frame]
    if impl == 'stock':
        conn = Connection(ConnectionType.SERVER)

        def receive():
            conn.receive_data(data)
            return list(conn.events())[0].data
    else:
        reader = IMPLEMENTATIONS[impl].FrameReader(1 << 20)

        def receive():
            return reader.feed(data)[0][1]
    assert benchmark(receive) == expected


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
def test_send_small_text(benchmark, impl):
    benchmark.group = 'ws send small text'
    if impl == 'stock':
        conn = Connection(ConnectionType.SERVER)
        frame = benchmark(lambda: conn.send(TextMessage(data=SMALL)))
    else:
        frame = benchmark(IMPLEMENTATIONS[impl].encode_text, SMALL)
    assert frame[2:] == SMALL.encode()
