"""RFC 6455 WebSocket frames, the server's side, sans I/O.

Bytes read from a client go into :meth:`FrameReader.feed`, which returns
the whole messages and control frames they complete; the frame functions
build what the server sends.  :class:`EngineIOWebSocket` puts the two
together for one Engine.IO session: its packets, the answers the protocol
gives by itself, and the bounded backlog of what waits to be written.
Nothing here touches a socket, so every async mode's driver shares it, and
a broadcast's frame is built once for all its recipients.

The reader is strict, as a server must be with clients it does not know:
frames must be masked, reserved bits clear (no extension is negotiated),
lengths minimally encoded, control frames short and whole, fragments in
order, text valid UTF-8 (checked frame by frame, so a bad byte ends the
connection before the rest of the message arrives), close codes ones a
peer may send.  A message longer than ``max_message_size`` is refused from
the frame header that announces it (alone or with the fragments before
it), before its payload is buffered.  Every violation raises
:class:`WebSocketError` with the close code to answer with; the reader then
accepts nothing more.

This file is also compiled by Cython as ``websocket_c`` (see setup.py and
``websocket_c.pxd``); ``COMPILED`` branches hold what only C can do faster
(unmasking).  Both builds behave identically.
"""
from __future__ import annotations

import codecs
import struct

try:
    import cython
    COMPILED = cython.compiled  # True in the compiled build
except ImportError:  # Cython is not needed to run the pure module
    COMPILED = False

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_NO_STATUS = 1005  # reported for a close frame without a code
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL_ERROR = 1011

#: the codes below 3000 a peer may send in a close frame (the rest of the
#: range is reserved or only reported locally, e.g. 1005, 1006, 1015)
_PEER_CODES = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                         1011, 1012, 1013))

_DATA_OPCODES = (OP_CONTINUATION, OP_TEXT, OP_BINARY)
_CONTROL_OPCODES = (OP_CLOSE, OP_PING, OP_PONG)

_utf8_decoder = codecs.getincrementaldecoder('utf-8')


class WebSocketError(Exception):
    """A client broke the protocol; ``code`` is the close code to send.
    ``events`` holds what the same bytes completed before the violation
    (still to be handled, as their sender sent them first)."""

    def __init__(self, code: int, reason: str):
        super().__init__(code, reason)
        self.code = code
        self.reason = reason
        self.events = []

    def __str__(self):
        return f'{self.reason} (close code {self.code})'


class FrameReader:
    """One connection's incoming frames (client to server, so masked).

    :meth:`feed` returns a list of ``(opcode, payload)``: ``OP_TEXT`` with
    a ``str``, ``OP_BINARY``, ``OP_PING`` and ``OP_PONG`` with ``bytes``,
    ``OP_CLOSE`` with ``(code, reason)``.  After a close frame the reader
    takes nothing more (``closed``).
    """

    def __init__(self, max_message_size: int = 1_000_000):
        self.max_message_size = max_message_size
        self.closed = False
        self._buffer = bytearray()
        self._error = None
        # the fragmented message being assembled, if any, in one buffer
        # (a part per fragment would cost an object per byte sent)
        self._opcode = -1
        self._data = bytearray()
        self._size = 0
        self._text = None  # its incremental UTF-8 decoder, for checking

    def feed(self, data) -> list:
        """Take bytes read from the socket; return what they complete."""
        if self._error is not None:
            raise WebSocketError(self._error.code, self._error.reason)
        if self.closed:
            return []
        self._buffer += data
        events = []
        try:
            pos = self._parse(events)
        except WebSocketError as exc:
            exc.events = events
            self._error = exc
            self._buffer = bytearray()
            self._data = bytearray()
            raise
        if pos:
            del self._buffer[:pos]
        return events

    def _parse(self, events) -> int:
        buf = self._buffer
        end = len(buf)
        pos = 0
        while not self.closed and end - pos >= 2:
            first = buf[pos]
            second = buf[pos + 1]
            fin = first & 0x80
            opcode = first & 0x0F
            if first & 0x70:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                     'reserved bits set')
            if not second & 0x80:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                     'client frame not masked')
            length = second & 0x7F
            header = 6
            if length == 126:
                if end - pos < 8:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                if length < 126:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                         'length not minimally encoded')
                header = 8
            elif length == 127:
                if end - pos < 14:
                    break
                if buf[pos + 2] & 0x80:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                         'length beyond 63 bits')
                length = int.from_bytes(buf[pos + 2:pos + 10], 'big')
                if length < 65536:
                    raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                         'length not minimally encoded')
                header = 14
            self._check_frame(fin, opcode, length)
            if end - pos - header < length:  # (no sum: C would wrap)
                break
            payload = _unmask(buf, pos + header, length, pos + header - 4)
            pos += header + length
            self._frame(fin, opcode, payload, events)
        return pos

    def _check_frame(self, fin, opcode, length):
        """What the header alone tells: raised before the payload waits."""
        if opcode in _CONTROL_OPCODES:
            if not fin:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                     'fragmented control frame')
            if length > 125:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                     'control frame over 125 bytes')
            return
        if opcode not in _DATA_OPCODES:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                 f'unknown opcode {opcode}')
        if opcode == OP_CONTINUATION:
            if self._opcode < 0:
                raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                     'continuation of no message')
        elif self._opcode >= 0:
            raise WebSocketError(CLOSE_PROTOCOL_ERROR,
                                 'new message inside a fragmented one')
        if length > self.max_message_size - self._size:
            raise WebSocketError(CLOSE_TOO_BIG,
                                 f'message over {self.max_message_size} '
                                 f'bytes')

    def _frame(self, fin, opcode, payload, events):
        if opcode == OP_PING or opcode == OP_PONG:
            events.append((opcode, payload))
        elif opcode == OP_CLOSE:
            events.append((OP_CLOSE, _close_payload(payload)))
            self.closed = True
        elif fin and opcode != OP_CONTINUATION:
            # a whole message in one frame: the common case
            if opcode == OP_TEXT:
                events.append((OP_TEXT, _utf8(payload)))
            else:
                events.append((OP_BINARY, payload))
        else:
            self._fragment(fin, opcode, payload, events)

    def _fragment(self, fin, opcode, payload, events):
        if opcode != OP_CONTINUATION:
            self._opcode = opcode
            if opcode == OP_TEXT:
                self._text = _utf8_decoder()
        if self._opcode == OP_TEXT:
            try:
                self._text.decode(payload, bool(fin))  # checked as it comes
            except UnicodeDecodeError:
                raise WebSocketError(CLOSE_INVALID_DATA,
                                     'text is not valid UTF-8') from None
        self._data += payload
        self._size += len(payload)
        if fin:
            data = bytes(self._data)
            events.append((self._opcode, data.decode('utf-8')
                           if self._opcode == OP_TEXT else data))
            self._opcode = -1
            self._data = bytearray()
            self._size = 0
            self._text = None


def _utf8(payload) -> str:
    try:
        return payload.decode('utf-8')
    except UnicodeDecodeError:
        raise WebSocketError(CLOSE_INVALID_DATA,
                             'text is not valid UTF-8') from None


def _close_payload(payload) -> tuple:
    if not payload:
        return (CLOSE_NO_STATUS, '')
    if len(payload) == 1:
        raise WebSocketError(CLOSE_PROTOCOL_ERROR, 'close payload of 1 byte')
    code = (payload[0] << 8) | payload[1]
    if not (code in _PEER_CODES or 3000 <= code <= 4999):
        raise WebSocketError(CLOSE_PROTOCOL_ERROR, f'close code {code}')
    return (code, _utf8(payload[2:]))


def _unmask(buf, start, length, key_at) -> bytes:
    """``length`` bytes of ``buf`` from ``start``, XORed with the 4-byte
    key at ``key_at``."""
    if not length:
        return b''
    if not COMPILED:
        key = bytes(buf[key_at:key_at + 4])
        mask = key * (length >> 2) + key[:length & 3]
        return (int.from_bytes(buf[start:start + length], 'little')
                ^ int.from_bytes(mask, 'little')).to_bytes(length, 'little')
    # C: the key doubled into one 64-bit word, XORed 8 bytes at a time
    # (memcpy for any alignment); C names come from websocket_c.pxd
    word = 0
    chunk = 0
    out = PyBytes_FromStringAndSize(cython.NULL, length)  # noqa: F821
    dst = cython.cast(cython.p_uchar, PyBytes_AS_STRING(out))  # noqa: F821
    base = cython.cast(cython.p_uchar,
                       PyByteArray_AS_STRING(buf))  # noqa: F821
    src = base + start
    keyp = base + key_at
    wordp = cython.cast(cython.p_uchar, cython.address(word))
    memcpy(wordp, keyp, 4)  # noqa: F821
    memcpy(wordp + 4, keyp, 4)  # noqa: F821
    i = 0
    while i + 8 <= length:
        memcpy(cython.address(chunk), src + i, 8)  # noqa: F821
        chunk ^= word
        memcpy(dst + i, cython.address(chunk), 8)  # noqa: F821
        i += 8
    while i < length:
        dst[i] = src[i] ^ keyp[i & 3]
        i += 1
    return out


# -- what the server sends (unmasked) -----------------------------------------

def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One frame: header and payload in one ``bytes``, for one write."""
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = bytes((first, length))
    elif length < 65536:
        header = struct.pack('!BBH', first, 126, length)
    else:
        header = struct.pack('!BBQ', first, 127, length)
    return header + payload


def encode_text(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode('utf-8'))


def encode_binary(data) -> bytes:
    return encode_frame(OP_BINARY, bytes(data))


def encode_close(code: int = CLOSE_NORMAL, reason: str = '') -> bytes:
    if code == CLOSE_NO_STATUS:
        return encode_frame(OP_CLOSE, b'')
    # a close frame holds 125 bytes: the reason is cut on a character
    reason_bytes = reason.encode('utf-8')[:123].decode('utf-8', 'ignore')
    return encode_frame(OP_CLOSE, struct.pack('!H', code) +
                        reason_bytes.encode('utf-8'))


# -- one Engine.IO session's WebSocket ----------------------------------------

#: what :meth:`EngineIOWebSocket.receive_data` reports
EV_MESSAGE = 'message'    # an Engine.IO message: str, or bytes for binary
EV_PONG = 'pong'          # the client answered the server's ping
EV_PROBE = 'probe'        # upgrade probe ("2probe"), already answered
EV_UPGRADE = 'upgrade'    # the client switched to this WebSocket
EV_CLOSE = 'close'        # (code, reason): the session ends here

#: the reasons of ``EV_CLOSE`` that are not the peer's own words
BACKLOG_EXCEEDED = 'backlog exceeded'
CLIENT_CLOSED = 'client closed the session'  # its Engine.IO close packet


class EngineIOWebSocket:
    """The WebSocket of one Engine.IO session, sans I/O.

    Bytes read from the socket go into :meth:`receive_data`, which answers
    what the protocol answers by itself (WebSocket pings, the upgrade
    probe, a close) and returns Engine.IO events.  Frames to send go into
    :meth:`send` (prebuilt: a broadcast's frame is built once for all its
    recipients); :meth:`data_to_send` takes everything pending as one
    ``bytes`` for one write.  What waits unsent, the protocol's own answers
    included, is bounded by ``max_backlog`` bytes: a client that does not
    read past it has its backlog dropped and the session ends with
    ``BACKLOG_EXCEEDED`` and no close frame (the client is not reading):
    the driver then drops the connection.
    """

    def __init__(self, max_message_size: int = 1_000_000,
                 max_backlog: int = 16 * 1024 * 1024):
        self.reader = FrameReader(max_message_size)
        self.max_backlog = max_backlog
        self.backlog = 0          # bytes waiting in data_to_send()
        self.closing = False      # a close frame is queued: send no more
        self.close_reason = None  # (code, reason) once the session ends
        self._out = []

    def send(self, frame: bytes) -> bool:
        """Queue one frame; False if the session has ended (or just ended
        because the client stopped reading)."""
        if self.closing:
            return False
        if self.backlog + len(frame) > self.max_backlog:
            self._out = []
            self.backlog = 0
            self.closing = True
            self.close_reason = (CLOSE_POLICY_VIOLATION, BACKLOG_EXCEEDED)
            return False
        self._out.append(frame)
        self.backlog += len(frame)
        return True

    def send_packet(self, text: str) -> bool:
        """Queue one Engine.IO text packet (``'2'`` a ping, ``'4...'`` a
        message)."""
        return self.send(encode_text(text))

    def close(self, code: int = CLOSE_NORMAL, reason: str = '') -> None:
        """Queue a close frame (the last thing sent)."""
        if self.closing:
            return
        frame = encode_close(code, reason)
        self._out.append(frame)
        self.backlog += len(frame)
        self.closing = True
        if self.close_reason is None:
            self.close_reason = (code, reason)

    def data_to_send(self, limit=None):
        """What is pending, joined for one write: everything, or (with
        ``limit``) the frames in order up to about ``limit`` bytes, at
        least one.  A frame is returned as it was queued, without a copy,
        when it is all there is to take."""
        out = self._out
        if limit is None or self.backlog <= limit:
            self._out = []
            self.backlog = 0
        else:
            size = 0
            count = 0
            while count < len(out) and (count == 0 or
                                        size + len(out[count]) <= limit):
                size += len(out[count])
                count += 1
            self._out = out[count:]
            self.backlog -= size
            out = out[:count]
        if len(out) == 1:
            return out[0]
        return b''.join(out)

    def unsent(self, data) -> None:
        """Put back the tail of what :meth:`data_to_send` gave that the
        socket did not take (a memoryview is kept as it is): it goes out
        first, and counts in the backlog again, without the bound being
        checked (it was checked when the frames were queued)."""
        if len(data):
            self._out.insert(0, data)
            self.backlog += len(data)

    def receive_data(self, data) -> list:
        """Take bytes read from the socket; return ``(event, value)``
        pairs (see the ``EV_`` names)."""
        events = []
        try:
            frames = self.reader.feed(data)
        except WebSocketError as exc:
            self._frames(exc.events, events)
            self._end(exc.code, exc.reason, events)
            return events
        self._frames(frames, events)
        return events

    def _frames(self, frames, events):
        for opcode, payload in frames:
            if self.close_reason is not None:
                return
            if opcode == OP_TEXT:
                self._text_packet(payload, events)
            elif opcode == OP_BINARY:
                events.append((EV_MESSAGE, payload))
            elif opcode == OP_PING:
                if not self.closing:
                    self.send(encode_frame(OP_PONG, payload))
            elif opcode == OP_CLOSE:
                code, reason = payload
                # answered with the client's own code, as RFC 6455 asks
                self._end(CLOSE_NORMAL if code == CLOSE_NO_STATUS else code,
                          reason, events, echo=True)
            # OP_PONG: nothing asked for one; ignored

    def _text_packet(self, text, events):
        kind = text[:1]
        if kind == '4':
            events.append((EV_MESSAGE, text[1:]))
        elif kind == '3':
            events.append((EV_PONG, text[1:]))
        elif text == '2probe':
            if not self.closing:
                self.send(encode_text('3probe'))
            events.append((EV_PROBE, None))
        elif kind == '5':
            events.append((EV_UPGRADE, None))
        elif kind == '1':
            self._end(CLOSE_NORMAL, CLIENT_CLOSED, events)
        elif kind == '6':
            pass  # noop
        else:
            self._end(CLOSE_PROTOCOL_ERROR,
                      f'not an Engine.IO packet: {text[:20]!r}', events)

    def _end(self, code, reason, events, echo=False):
        self.close(code, '' if echo else reason)
        self.close_reason = (code, reason)
        events.append((EV_CLOSE, (code, reason)))
