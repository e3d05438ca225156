"""A WebSocket client for the load generator at the least cost per
message: an asyncio protocol that calls back with each text message, no
task, future or queue per message, so one core of clients can load a
server well past what the servers measured here can answer (the
``websockets`` library's client, a coroutine and a few futures per
message, could not: Node's server idled behind it).

Only what a Socket.IO server sends is read: unmasked text and binary
messages (fragmented or not), pings (answered), a close (ends the
connection).  Frames sent are masked, as RFC 6455 wants of a client.
"""
import asyncio
import base64
import os
import struct


class Closed(ConnectionError):
    """The server closed the connection, or refused the upgrade."""


class Client(asyncio.Protocol):
    """``on_message(text)`` is called for each message (text as ``str``,
    binary as ``bytes``); :meth:`send` sends one.  Made and upgraded by :func:`connect`."""

    def __init__(self, host, path):
        self._on_message = None
        self._early = []
        self._request = (f'GET {path} HTTP/1.1\r\nHost: {host}\r\n'
                         'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                         'Sec-WebSocket-Key: '
                         f'{base64.b64encode(os.urandom(16)).decode()}\r\n'
                         'Sec-WebSocket-Version: 13\r\n\r\n').encode()
        self._upgraded = asyncio.get_running_loop().create_future()
        self._buffer = b''
        self._parts = []
        self._text = False  # the fragmented message is text
        self._transport = None
        self._key = os.urandom(4)

    # -- asyncio.Protocol ----------------------------------------------------

    def connection_made(self, transport):
        self._transport = transport
        transport.write(self._request)

    def connection_lost(self, exc):
        if not self._upgraded.done():
            self._upgraded.set_exception(Closed(str(exc or 'closed')))

    def data_received(self, data):
        buffer = self._buffer + data if self._buffer else data
        if not self._upgraded.done():
            end = buffer.find(b'\r\n\r\n')
            if end < 0:
                self._buffer = buffer
                return
            status = buffer[:buffer.find(b'\r\n')]
            if b' 101 ' not in status:
                self._upgraded.set_exception(Closed(status.decode()))
                self._transport.close()
                return
            self._upgraded.set_result(None)
            buffer = buffer[end + 4:]
        at, size = 0, len(buffer)
        while size - at >= 2:
            first, length = buffer[at], buffer[at + 1] & 0x7f
            head = 2
            if length == 126:
                head = 4
                if size - at < head:
                    break
                length = struct.unpack_from('!H', buffer, at + 2)[0]
            elif length == 127:
                head = 10
                if size - at < head:
                    break
                length = struct.unpack_from('!Q', buffer, at + 2)[0]
            if size - at < head + length:
                break
            payload = buffer[at + head:at + head + length]
            at += head + length
            self._frame(first, payload)
        self._buffer = buffer[at:]

    # -- frames ----------------------------------------------------------------

    def _frame(self, first, payload):
        opcode = first & 0x0f
        if opcode >= 0x8:
            if opcode == 0x9:
                self._write(0x8a, payload)  # pong
            elif opcode == 0x8:
                self._transport.close()
            return
        if not first & 0x80:  # a fragment, more to come
            if opcode:
                self._text = opcode == 0x1
            self._parts.append(payload)
            return
        if self._parts:
            payload = b''.join(self._parts) + payload
            self._parts = []
        message = payload.decode() if opcode == 0x1 or \
            (opcode == 0 and self._text) else payload
        if self._on_message is None:
            self._early.append(message)  # before anyone listens
        else:
            self._on_message(message)

    @property
    def on_message(self):
        return self._on_message

    @on_message.setter
    def on_message(self, callback):
        """Called with each message, and at once with those that came
        before it was set."""
        self._on_message = callback
        while self._early and self._on_message is callback:
            callback(self._early.pop(0))

    def send(self, text):
        """Send one text message."""
        self._write(0x81, text.encode())

    def text_frame(self, text) -> bytes:
        """The frame :meth:`send` would write for ``text``, to be sent
        later with :meth:`send_frame` (a load built before it is timed)."""
        return self._frame_bytes(0x81, text.encode())

    def send_frame(self, frame):
        self._transport.write(frame)

    def _write(self, first, payload):
        self._transport.write(self._frame_bytes(first, payload))

    def _frame_bytes(self, first, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack('!BB', first, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', first, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', first, 0x80 | 127, n)
        key = self._key
        mask = (key * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, 'little') ^
                  int.from_bytes(mask, 'little')).to_bytes(n, 'little')
        return head + key + masked

    def close(self):
        if self._transport is not None:
            self._transport.close()


async def connect(port, path, host='127.0.0.1', timeout=30):
    """A client upgraded on ``ws://host:port{path}``."""
    loop = asyncio.get_running_loop()
    _, client = await asyncio.wait_for(
        loop.create_connection(lambda: Client(f'{host}:{port}', path),
                               host, port), timeout)
    await asyncio.wait_for(asyncio.shield(client._upgraded), timeout)
    return client
