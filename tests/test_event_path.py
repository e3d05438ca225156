"""The short ways of an EVENT on a native WebSocket (``Server._event_text``)
and of an emit to one client (``FanOut.emit``) against python-socketio's
own path, which they stand in for: the same app
served twice over 127.0.0.1, once with the short way and once without it,
is sent the same packets by a raw WebSocket client; what each client
receives, what the handlers saw and what the server logged must be the
same.  The cases are the ordinary and the odd: acks of every shape,
emits back to the sender and to rooms, catch-alls, class-based namespaces,
error handlers, reserved event names, namespaces not joined, binary events
and acks, and input the codec or python-socketio refuses."""
from __future__ import annotations

import logging
import re
import socket
import time

import pytest
from flask import Flask, request

from flask_socketio import Namespace, SocketIO, emit, join_room
from flask_socketio import _engine

from _live import LiveServer
from test_transport import RawClient
from test_websocket_frames import client_frame


#: each case: the namespaces to join, then the packets to send
CASES = {
    'acks of every shape': (['/'], [
        '42["echo",1,"a",{"k":[1,2]}]', '421["echo",1,2]', '422["none"]',
        '42["none"]', '423["one","x"]', '424["pair"]']),
    'a handler that fails, its error handler': (['/', '/err'], [
        '425["boom"]', '42["boom"]', '42/err,6["fail"]', '42/err,["fail"]']),
    'the catch-all, reserved names': (['/'], [
        '427["other",7]', '42["other"]', '428["connect"]',
        '429["connect_error"]', '4210["message","hi"]']),
    'a class-based namespace': (['/', '/chat'], [
        '42/chat,11["hello","ann"]', '42/chat,["hello","bob"]',
        '42/chat,12["nothing"]', '42/chat,13["echo",5]',
        '42/chat,["back",6]']),
    'replies emitted to the sender, a room, not to oneself': (['/'], [
        '42["back",1]', '42["back",[1,{"a":"b"}]]', '4230["back","x"]',
        '42["to room","r1"]', '42["not me","r1"]', '42["back",{"b":1}]',
        '42["bytes back"]', '42["to gone"]']),
    'a namespace not joined': (['/'], [
        '42/chat,14["hello","ann"]', '42/nowhere,15["echo",1]']),
    'binary: an ack of bytes, an event with an attachment': (['/'], [
        '4216["bytes"]', ('451-17["echo",{"_placeholder":true,"num":0}]',
                          b'\x00\xff')]),
    'odd data the regular path judges': (['/'], [
        '42"text"', '4218"text"', '4219[1]', '42[null]', '42[7,"x"]']),
    'an object for data': (['/'], ['42{"a":1}']),
    'the reserved name disconnect': (['/'], ['4221["disconnect"]']),
    'an empty list': (['/'], ['42[]']),
    'bad JSON': (['/'], ['4220["echo",']),
    'a bad id': (['/'], ['42123456789012345678901["echo"]']),
}


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        if record.levelno >= logging.WARNING or 'event' in str(record.msg):
            self.lines.append(record.getMessage())


def build(short, async_handlers):
    log = logging.getLogger(f'tests.event_path.{short}.{async_handlers}')
    log.setLevel(logging.INFO)  # the short way logs as the regular path
    log.propagate = False
    lines = Lines()
    log.addHandler(lines)
    app = Flask(__name__)
    sio = SocketIO(app, async_mode='threading', logger=log,
                   async_handlers=async_handlers)
    calls = []

    def seen(*what):
        calls.append((request.namespace, request.event['message'], *what))

    @sio.on('echo')
    def echo(*args):
        seen(args)
        return args

    @sio.on('none')
    def none():
        seen()

    @sio.on('one')
    def one(value):
        seen(value)
        return [value]

    @sio.on('pair')
    def pair():
        seen()
        return 'a', 2

    @sio.on('boom')
    def boom():
        seen()
        raise RuntimeError('boom')

    @sio.on('bytes')
    def some_bytes():
        seen()
        return b'\x01\x02'

    @sio.on('message')
    def message(data):
        seen(data)
        return 'message'

    @sio.on('*')
    def any_event(event, *args):
        seen(event, args)
        return event

    @sio.on('fail', namespace='/err')
    def fail():
        seen()
        raise ValueError('bad')

    @sio.on_error('/err')
    def handled(exc):
        return f'handled {exc}'

    @sio.on('back')
    def back(data):
        seen(data)
        emit('back', data)
        emit('back', (data, 2))

    @sio.on('to room')
    def to_room(room):
        join_room(room)
        emit('in room', room, to=room)

    @sio.on('not me')
    def not_me(room):
        emit('in room', room, to=room, include_self=False)

    @sio.on('bytes back')
    def bytes_back():
        emit('bytes', b'\x03')

    @sio.on('to gone')
    def to_gone():
        sio.emit('gone', 1, to='AAAAAAAAAAAAAAAAAAAA')  # never connected

    @sio.on('disconnect')
    def bye(reason=None):
        seen(reason)

    @sio.on('done')
    def done():
        return 'done'

    class Chat(Namespace):
        def on_hello(self, name):
            seen(name)
            return 'hi ' + name

        def on_echo(self, value):
            seen(value)
            return value

        def on_back(self, value):
            emit('back', value)

    sio.on_namespace(Chat('/chat'))
    sio.on_namespace(Namespace('/err'))  # joinable; its handler is above
    if not short:  # (an emit's short way to one client goes with it)
        sio.server.eio.events = None
    else:
        assert sio.server.eio.events is sio.server
    return app, sio, calls, lines


@pytest.fixture(scope='module', autouse=True)
def native():
    # whatever transport the rest of the suite runs on
    mp = pytest.MonkeyPatch()
    mp.setenv('FLASK_SOCKETIO_TRANSPORT', 'native')
    yield
    mp.undo()


@pytest.fixture(scope='module')
def servers():
    built = {}
    live = []
    for short in (True, False):
        for async_handlers in (True, False):
            app, sio, calls, lines = build(short, async_handlers)
            server = LiveServer(sio, app).start()
            live.append(server)
            built[short, async_handlers] = (server.port, calls, lines)
    yield built
    for server in live:
        server.stop()


def transcript(port, calls, lines, namespaces, packets, ordered):
    """What one client sees of ``packets``, with what the handlers saw
    and the server logged; sids made alike."""
    del calls[:], lines.lines[:]
    client = RawClient(port)
    received = []
    try:
        for namespace in namespaces:
            client.send('40' if namespace == '/' else f'40{namespace},')
            while not (text := client.text()).startswith('40'):
                received.append(text)
        for packet in packets:
            if isinstance(packet, tuple):
                packet, attachment = packet
                client.send(packet)
                client.sock.sendall(client_frame(0x2, attachment))
            else:
                client.send(packet)
        client.send('4299["done"]')
        ended = False
        client.sock.settimeout(0.5 if ordered else 0.3)
        while True:
            try:
                opcode, payload = client.frame()
            except socket.timeout:
                break  # quiet: every answer is in
            except (EOFError, ConnectionError):
                ended = True
                break
            if opcode == 0x8:
                ended = True
                break
            if payload == b'2':
                client.send('3')
            elif opcode == 0x2:
                received.append(bytes(payload))
            else:
                received.append(payload.decode())
    finally:
        client.close()
    time.sleep(0.1)  # a drop's log line, a handler still running
    sids = re.compile(r'[A-Za-z0-9_-]{20}')
    out = {
        'received': [sids.sub('SID', r) if isinstance(r, str) else r
                     for r in received],
        'calls': [tuple(sids.sub('SID', str(c)) for c in call)
                  for call in calls],
        'log': [sids.sub('SID', line) for line in lines.lines],
        'ended': ended,
    }
    if not ordered:  # handlers ran at once: the order is theirs
        out = {key: sorted(value, key=repr) if isinstance(value, list)
               else value for key, value in out.items()}
    return out


@pytest.mark.parametrize('async_handlers', [True, False],
                         ids=['async handlers', 'in order'])
@pytest.mark.parametrize('case', list(CASES))
def test_the_short_way_does_what_python_socketios_path_does(
        servers, case, async_handlers):
    namespaces, packets = CASES[case]
    got = {}
    for short in (True, False):
        port, calls, lines = servers[short, async_handlers]
        got[short] = transcript(port, calls, lines, namespaces, packets,
                                ordered=not async_handlers)
    assert got[True] == got[False]
    # and the case did something: an answer, a call, a log line or an end
    seen = got[True]
    assert seen['calls'] or seen['log'] or seen['ended'] or \
        len(seen['received']) > 1, seen


def test_an_emit_back_to_the_sender_takes_its_short_way(servers,
                                                       monkeypatch):
    # the emits to the sender never reach the manager (to a room, they do)
    delivered = []
    manager_emit = _engine.FanOut.emit

    def counted(self, event, *args, **kwargs):
        delivered.append(event)
        return manager_emit(self, event, *args, **kwargs)
    monkeypatch.setattr(_engine.FanOut, 'emit', counted)
    port, calls, lines = servers[True, False]
    seen = transcript(port, calls, lines, ['/', '/chat'], [
        '42["back",1]', '42/chat,["back",2]', '42["to room","r2"]'],
        ordered=True)
    assert seen['received'] == [
        '42["back",1]', '42["back",1,2]', '42/chat,["back",2]',
        '42["in room","r2"]', '4399["done"]'], seen
    assert delivered == ['in room']


def test_the_short_way_is_on_where_it_knows_the_steps():
    # on a python-socketio whose steps it has not read it stays off
    # (test_engine_pins says which); the regular path serves then
    assert _engine._SHORT_WAY
    sio = SocketIO(Flask(__name__), async_mode='threading')
    assert sio.server.eio.events is sio.server
    # a JSON module of the app's own: python-socketio's packets, its path
    sio = SocketIO(Flask(__name__), async_mode='threading',
                   json=__import__('json'))
    assert sio.server.eio.events is None
