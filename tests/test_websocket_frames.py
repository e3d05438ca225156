"""The compiled core's RFC 6455 frames (``_speedups.websocket``), pure and
compiled, checked against an implementation this project did not write:
wsproto's sans-I/O connection, both directions, over generated frame
sequences (valid and not), fed in generated chunks; then the limits and
each violation with its close code."""
from __future__ import annotations

import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import (BytesMessage, CloseConnection, Message, Ping,
                            Pong, TextMessage)


def client_frame(opcode, payload=b'', fin=True, rsv=0, masked=True,
                 key=b'\x01\x02\x03\x04', length_form='minimal'):
    """A frame as a client sends it (masked), or breaks it."""
    length = len(payload)
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if masked else 0
    if length_form == '16' or (length_form == 'minimal' and
                               126 <= length < 65536):
        header = struct.pack('!BBH', first, mask_bit | 126, length)
    elif length_form == '64' or (length_form == 'minimal' and
                                 length >= 65536):
        header = struct.pack('!BBQ', first, mask_bit | 127, length)
    else:
        header = bytes((first, mask_bit | length))
    if not masked:
        return header + payload
    masked_payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return header + key + masked_payload


# -- what each side makes of a byte stream ------------------------------------

def ours(ws, data, chunks, max_size=10_000_000):
    """Our reader's account: messages, then ('close', code, reason) or
    ('error', code), whichever comes first."""
    reader = ws.FrameReader(max_size)
    out = []
    for chunk in _split(data, chunks):
        error = None
        try:
            events = reader.feed(chunk)
        except ws.WebSocketError as exc:
            events, error = exc.events, exc
        for opcode, payload in events:
            if opcode == ws.OP_CLOSE:
                return out + [('close', *payload)]
            out.append((opcode, payload))
        if error is not None:
            return out + [('error', error.code)]
    return out


def wsproto_account(data, chunks):
    """wsproto's account of the same bytes, in the same terms."""
    conn = Connection(ConnectionType.SERVER)
    out = []
    pending = None
    for chunk in _split(data, chunks):
        conn.receive_data(chunk)
        for event in conn.events():
            if isinstance(event, CloseConnection):
                if conn.state is ConnectionState.OPEN:  # a parse failure
                    return out + [('error', event.code)]
                return out + [('close', int(event.code), event.reason)]
            if isinstance(event, Ping):
                out.append((0x9, bytes(event.payload)))
            elif isinstance(event, Pong):
                out.append((0xA, bytes(event.payload)))
            elif isinstance(event, Message):
                part = event.data if isinstance(event, TextMessage) \
                    else bytes(event.data)
                pending = part if pending is None else pending + part
                if event.message_finished:
                    opcode = 0x1 if isinstance(event, TextMessage) else 0x2
                    out.append((opcode, pending))
                    pending = None
    return out


def _split(data, chunks):
    pos = 0
    for size in chunks:
        if pos >= len(data):
            return
        yield data[pos:pos + size]
        pos += size
    if pos < len(data):
        yield data[pos:]


# -- generated frame sequences ------------------------------------------------

texts = st.text(max_size=40).map(lambda t: t.encode('utf-8'))
bad_utf8 = st.sampled_from([b'\xff', b'\xc3', b'a\xed\xa0\x80b', b'\xe2\x82',
                            b'\xf4\x90\x80\x80', b'\xc0\xaf'])
payloads = st.one_of(texts, st.binary(max_size=60), bad_utf8,
                     st.binary(min_size=126, max_size=300))
close_payloads = st.one_of(
    st.just(b''), st.binary(min_size=1, max_size=1),
    st.builds(lambda code, reason: struct.pack('!H', code) + reason,
              st.sampled_from([1000, 1001, 1002, 1003, 1004, 1005, 1006,
                               1007, 1011, 1012, 1013, 1014, 1015, 1016,
                               2999, 3000, 4999, 5000, 999, 0]),
              st.one_of(texts, bad_utf8)))


@st.composite
def frames(draw):
    opcode = draw(st.sampled_from([0, 1, 2, 0, 1, 2, 8, 9, 10, 3, 11]))
    payload = draw(close_payloads if opcode == 8 and draw(st.booleans())
                   else payloads)
    return client_frame(
        opcode, payload,
        fin=draw(st.sampled_from([True, True, False])),
        rsv=draw(st.sampled_from([0] * 12 + [1, 2, 4])),
        masked=draw(st.sampled_from([True] * 15 + [False])),
        key=draw(st.binary(min_size=4, max_size=4)),
        length_form=draw(st.sampled_from(['minimal'] * 12 + ['16', '64'])))


@st.composite
def fragmented_messages(draw):
    """Mostly valid traffic: messages split in fragments, control frames
    in between, so the differential test reaches deep states too."""
    out = []
    for _ in range(draw(st.integers(1, 4))):
        binary = draw(st.booleans())
        data = draw(st.binary(max_size=200)) if binary else \
            draw(st.text(max_size=60)).encode('utf-8')
        cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=3)))
        parts = [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)])]
        for i, part in enumerate(parts):
            opcode = (2 if binary else 1) if i == 0 else 0
            out.append(client_frame(opcode, part, fin=i == len(parts) - 1,
                                    key=draw(st.binary(min_size=4,
                                                       max_size=4))))
            if draw(st.integers(0, 4)) == 0:
                out.append(client_frame(9, draw(st.binary(max_size=20))))
    return b''.join(out)


chunkings = st.lists(st.integers(1, 64), max_size=30)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(frames(), min_size=1, max_size=6), chunkings)
def test_any_frames_read_as_wsproto_reads_them(ws, sequence, chunks):
    data = b''.join(sequence)
    assert ours(ws, data, chunks) == wsproto_account(data, chunks)


def test_every_close_code_read_as_wsproto_reads_it(ws):
    for code in range(0, 5200):
        data = client_frame(8, struct.pack('!H', code) + b'why')
        assert ours(ws, data, []) == wsproto_account(data, []), code


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fragmented_messages(), chunkings)
def test_fragmented_traffic_read_as_wsproto_reads_it(ws, data, chunks):
    mine = ours(ws, data, chunks)
    assert mine == wsproto_account(data, chunks)
    assert not any(event[0] == 'error' for event in mine)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=70000).map(lambda t: (1, t)),
                 st.binary(max_size=70000).map(lambda b: (2, b)),
                 st.binary(max_size=125).map(lambda b: (9, b))))
def test_frames_we_write_are_read_by_wsproto_as_a_client(ws, message):
    opcode, data = message
    if opcode == 1:
        frame = ws.encode_text(data)
    elif opcode == 2:
        frame = ws.encode_binary(data)
    else:
        frame = ws.encode_frame(ws.OP_PING, data)
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(frame)
    (event,) = list(client.events())
    if opcode == 1:
        assert isinstance(event, TextMessage) and event.data == data
    elif opcode == 2:
        assert isinstance(event, BytesMessage) and event.data == data
    else:
        assert isinstance(event, Ping) and event.payload == data


def test_close_frames_we_write(ws):
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(ws.encode_close(ws.CLOSE_TOO_BIG, 'é' * 100))
    (event,) = list(client.events())
    assert event.code == 1009
    assert event.reason == 'é' * 61  # cut on a character, 125 bytes at most
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(ws.encode_close(ws.CLOSE_NO_STATUS))
    (event,) = list(client.events())
    assert event.code == 1005


# -- frames from wsproto's client ---------------------------------------------

@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.text(max_size=300), st.binary(max_size=300)),
                min_size=1, max_size=5), chunkings)
def test_wsproto_client_frames_read(ws, messages, chunks):
    client = Connection(ConnectionType.CLIENT)
    data = b''.join(client.send(TextMessage(data=m) if isinstance(m, str)
                                else BytesMessage(data=m)) for m in messages)
    assert ours(ws, data, chunks) == [
        (1 if isinstance(m, str) else 2, m) for m in messages]


# -- limits -------------------------------------------------------------------

def test_a_message_over_the_limit_is_refused_from_its_header(ws):
    reader = ws.FrameReader(1000)
    header = struct.pack('!BBQ', 0x82, 0xFF, 50_000_000) + b'abcd'
    with pytest.raises(ws.WebSocketError) as info:
        reader.feed(header)  # no byte of the 50 MB payload needed
    assert info.value.code == ws.CLOSE_TOO_BIG
    with pytest.raises(ws.WebSocketError):
        reader.feed(b'more')  # and it stays refused


def test_fragments_over_the_limit_in_all_are_refused(ws):
    reader = ws.FrameReader(1000)
    assert reader.feed(client_frame(2, b'x' * 600, fin=False)) == []
    with pytest.raises(ws.WebSocketError) as info:
        reader.feed(client_frame(0, b'y' * 401, fin=False)[:8])
    assert info.value.code == ws.CLOSE_TOO_BIG


def test_a_message_at_the_limit_passes(ws):
    reader = ws.FrameReader(1000)
    events = reader.feed(client_frame(2, b'x' * 600, fin=False) +
                         client_frame(9, b'ping') +
                         client_frame(0, b'y' * 400))
    assert events == [(ws.OP_PING, b'ping'), (ws.OP_BINARY,
                                              b'x' * 600 + b'y' * 400)]


def test_partial_frames_wait_for_the_rest(ws):
    reader = ws.FrameReader()
    frame = client_frame(1, 'abc'.encode() * 100)
    for i in range(len(frame) - 1):
        assert reader.feed(frame[i:i + 1]) == []
    assert reader.feed(frame[-1:]) == [(ws.OP_TEXT, 'abc' * 100)]


def test_bad_utf8_fails_at_its_fragment(ws):
    reader = ws.FrameReader()
    with pytest.raises(ws.WebSocketError) as info:
        reader.feed(client_frame(1, b'ok \xff', fin=False))
    assert info.value.code == ws.CLOSE_INVALID_DATA


@pytest.mark.parametrize('frame, code', [
    (client_frame(1, b'x', masked=False), 1002),
    (client_frame(1, b'x', rsv=4), 1002),
    (client_frame(3, b'x'), 1002),
    (client_frame(9, b'x' * 126), 1002),
    (client_frame(9, b'x', fin=False), 1002),
    (client_frame(0, b'x'), 1002),
    (client_frame(1, b'x', fin=False) + client_frame(2, b'y'), 1002),
    (client_frame(2, b'x' * 10, length_form='16'), 1002),
    (client_frame(2, b'x' * 200, length_form='64'), 1002),
    (struct.pack('!BBQ', 0x82, 0xFF, 1 << 63) + b'abcd', 1002),
    (client_frame(8, b'\x03'), 1002),
    (client_frame(8, struct.pack('!H', 1005)), 1002),
    (client_frame(8, struct.pack('!H', 2000)), 1002),
    (client_frame(8, struct.pack('!H', 1000) + b'\xff'), 1007),
    (client_frame(1, b'\xed\xa0\x80'), 1007),
])
def test_each_violation_has_its_close_code(ws, frame, code):
    reader = ws.FrameReader()
    with pytest.raises(ws.WebSocketError) as info:
        reader.feed(frame)
    assert info.value.code == code


def test_nothing_is_read_after_a_close(ws):
    reader = ws.FrameReader()
    events = reader.feed(client_frame(8, struct.pack('!H', 1000) + b'bye') +
                         client_frame(1, b'late'))
    assert events == [(ws.OP_CLOSE, (1000, 'bye'))]
    assert reader.closed and reader.feed(client_frame(1, b'x')) == []


def test_unmasking_large_payloads(ws):
    data = os.urandom(100_003)
    key = os.urandom(4)
    events = ws.FrameReader().feed(client_frame(2, data, key=key))
    assert events == [(ws.OP_BINARY, data)]


# -- one Engine.IO session's WebSocket --------------------------------------

def _client_reads(data):
    """What a client (wsproto) reads from what the server wrote."""
    client = Connection(ConnectionType.CLIENT)
    client.receive_data(data)
    out = []
    for event in client.events():
        if isinstance(event, TextMessage):
            out.append(('text', event.data))
        elif isinstance(event, BytesMessage):
            out.append(('binary', bytes(event.data)))
        elif isinstance(event, Pong):
            out.append(('pong', bytes(event.payload)))
        elif isinstance(event, CloseConnection):
            out.append(('close', int(event.code)))
    return out


def test_engineio_websocket_messages_and_answers(ws):
    conn = ws.EngineIOWebSocket()
    events = conn.receive_data(
        client_frame(1, b'2probe') + client_frame(1, b'5') +
        client_frame(1, b'42["chat","hi"]') + client_frame(2, b'\x00\x01') +
        client_frame(9, b'are you there') + client_frame(1, b'3') +
        client_frame(1, b'6'))
    assert events == [(ws.EV_PROBE, None), (ws.EV_UPGRADE, None),
                      (ws.EV_MESSAGE, '2["chat","hi"]'),
                      (ws.EV_MESSAGE, b'\x00\x01'), (ws.EV_PONG, '')]
    assert _client_reads(conn.data_to_send()) == [
        ('text', '3probe'), ('pong', b'are you there')]


def test_engineio_websocket_sends_coalesced_in_order(ws):
    conn = ws.EngineIOWebSocket()
    shared = ws.encode_text('42["news",1]')  # one frame, many recipients
    assert conn.send_packet('2')
    assert conn.send(shared)
    assert conn.send(ws.encode_binary(b'\xff'))
    assert conn.backlog == 3 + len(shared) + 3
    data = conn.data_to_send()
    assert conn.backlog == 0 and conn.data_to_send() == b''
    assert _client_reads(data) == [('text', '2'), ('text', '42["news",1]'),
                                   ('binary', b'\xff')]


def test_engineio_websocket_writes_in_bounded_pieces(ws):
    conn = ws.EngineIOWebSocket()
    frames = [ws.encode_text('4' + str(i) * 50) for i in range(10)]
    for frame in frames:
        conn.send(frame)
    first = conn.data_to_send(130)  # whole frames, about the limit
    assert first == frames[0] + frames[1]
    assert conn.backlog == sum(map(len, frames[2:]))
    # the socket took 7 bytes: the rest goes first, without a copy
    rest = memoryview(first)[7:]
    conn.unsent(rest)
    assert conn.backlog == len(rest) + sum(map(len, frames[2:]))
    assert conn.data_to_send(1) is rest  # one piece, returned as it is
    assert conn.data_to_send() == b''.join(frames[2:])
    assert conn.backlog == 0
    huge = ws.encode_text('4' + 'y' * 1000)
    conn.send(huge)
    assert conn.data_to_send(10) is huge  # at least one frame


def test_engineio_websocket_close_frame_counts_in_the_backlog(ws):
    conn = ws.EngineIOWebSocket()
    conn.close(ws.CLOSE_NORMAL)
    assert conn.closing and conn.backlog == 4
    assert _client_reads(conn.data_to_send()) == [('close', 1000)]
    assert conn.backlog == 0


def test_engineio_websocket_close_from_the_client(ws):
    conn = ws.EngineIOWebSocket()
    events = conn.receive_data(client_frame(1, b'4a') + client_frame(
        8, struct.pack('!H', 1001)) + client_frame(1, b'4late'))
    assert events == [(ws.EV_MESSAGE, 'a'), (ws.EV_CLOSE, (1001, ''))]
    assert _client_reads(conn.data_to_send()) == [('close', 1001)]
    assert not conn.send_packet('4x')  # nothing after the close
    events = ws.EngineIOWebSocket().receive_data(client_frame(1, b'1'))
    assert events == [(ws.EV_CLOSE, (1000, 'client closed the session'))]


@pytest.mark.parametrize('frame, code', [
    (client_frame(1, b'4ok') + client_frame(1, b'x', masked=False), 1002),
    (client_frame(1, b'4ok') + client_frame(1, b'\xff'), 1007),
    (client_frame(1, b'4ok') + client_frame(1, b'9nonsense'), 1002),
])
def test_engineio_websocket_violations_end_the_session(ws, frame, code):
    conn = ws.EngineIOWebSocket()
    events = conn.receive_data(frame)
    assert events[0] == (ws.EV_MESSAGE, 'ok')  # sent first, handled first
    assert events[1][0] == ws.EV_CLOSE and events[1][1][0] == code
    assert len(events) == 2
    assert _client_reads(conn.data_to_send()) == [('close', code)]
    assert conn.close_reason[0] == code


def test_engineio_websocket_message_over_the_limit(ws):
    conn = ws.EngineIOWebSocket(max_message_size=100)
    # the header alone (mask key included), none of the 5000 bytes
    events = conn.receive_data(struct.pack('!BBH', 0x81, 0xFE, 5000) +
                               b'mask')
    assert events == [(ws.EV_CLOSE, (ws.CLOSE_TOO_BIG,
                                     'message over 100 bytes'))]


def test_engineio_websocket_backlog_is_bounded(ws):
    conn = ws.EngineIOWebSocket(max_backlog=1000)
    frame = ws.encode_text('4' + 'x' * 97)  # 100 bytes framed
    assert all(conn.send(frame) for _ in range(10))
    assert conn.backlog == 1000
    assert not conn.send(frame)  # the client stopped reading
    assert conn.close_reason == (ws.CLOSE_POLICY_VIOLATION,
                                 ws.BACKLOG_EXCEEDED)
    assert conn.backlog == 0 and conn.data_to_send() == b''  # memory back
    assert not conn.send(frame)


def test_fragments_are_held_as_their_bytes(ws):
    empty = client_frame(0, b'', fin=False)
    tiny = client_frame(0, b'x', fin=False)
    reader = ws.FrameReader(1000)
    assert reader.feed(client_frame(1, b'a', fin=False) + empty * 10000 +
                       tiny * 500) == []
    assert reader.feed(client_frame(0, b'b')) == [
        (ws.OP_TEXT, 'a' + 'x' * 500 + 'b')]
    # what is held meanwhile: one buffer of the bytes, not an object per
    # fragment (the pure build shows it; one source for both)
    from flask_socketio._speedups import websocket_py
    pure = websocket_py.FrameReader(1000)
    pure.feed(client_frame(2, b'a', fin=False) + empty * 10000 + tiny * 500)
    assert pure._data == bytearray(b'a' + b'x' * 500)


@pytest.mark.parametrize('length', [2 ** 63 - 50, 2 ** 63 - 1])
def test_huge_continuation_lengths_do_not_wrap_the_limit(ws, length):
    # C sums of Py_ssize_t would wrap around past 2**63 and let it in
    reader = ws.FrameReader(1000)
    assert reader.feed(client_frame(2, b'x' * 100, fin=False)) == []
    with pytest.raises(ws.WebSocketError) as info:
        reader.feed(struct.pack('!BBQ', 0x00, 0xFF, length) + b'mask')
    assert info.value.code == ws.CLOSE_TOO_BIG


def test_answers_to_a_client_that_does_not_read_count_in_the_backlog(ws):
    conn = ws.EngineIOWebSocket(max_backlog=1000)
    events = conn.receive_data(client_frame(9, b'p' * 125) * 100)
    assert conn.close_reason == (ws.CLOSE_POLICY_VIOLATION,
                                 ws.BACKLOG_EXCEEDED)
    assert conn.backlog <= 1000 and events == []
