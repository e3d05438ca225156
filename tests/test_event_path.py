"""The short ways of an EVENT on a native WebSocket (``Server._event_text``)
and of an emit to one client (``FanOut.emit``) against python-socketio's
own path, which they stand in for: the same app
served twice over 127.0.0.1, once with the short way and once without it
(in threading mode, and in gevent's and eventlet's, the app of
``tests/servers/event_path_app.py``), is sent the same packets by a raw
WebSocket client; what each client receives, what the handlers saw and
what the server logged must be the same.  The cases are the ordinary and the odd: acks of every shape,
emits back to the sender and to rooms, catch-alls, class-based namespaces,
error handlers, reserved event names, namespaces not joined, binary events
and acks, and input the codec or python-socketio refuses."""
from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import time

import pytest
import requests
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio import _engine

from _live import TIMEOUT, LiveServer
from _peers import SERVERS
from conftest import free_port, stop_processes, wait_for_port
from test_transport import RawClient
from test_websocket_frames import client_frame

_spec = importlib.util.spec_from_file_location(
    'event_path_app', SERVERS / 'event_path_app.py')
event_path_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(event_path_app)


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


class Recorded:
    """What the handlers of one server saw and it logged: in this process
    (threading mode), or asked of the server's process (``/record``)."""

    def __init__(self, calls=None, lines=None, port=None):
        self.calls, self.lines, self.port = calls, lines, port

    def clear(self):
        if self.port is None:
            del self.calls[:], self.lines.lines[:]
        else:
            requests.delete(f'http://127.0.0.1:{self.port}/record',
                            timeout=TIMEOUT).raise_for_status()

    def get(self):
        """(calls, log lines), each item of a call as text."""
        if self.port is None:
            return ([[str(c) for c in call] for call in self.calls],
                    list(self.lines.lines))
        got = requests.get(f'http://127.0.0.1:{self.port}/record',
                           timeout=TIMEOUT).json()
        return got['calls'], got['lines']


@pytest.fixture(scope='module', autouse=True)
def native():
    # whatever transport the rest of the suite runs on
    mp = pytest.MonkeyPatch()
    mp.setenv('FLASK_SOCKETIO_TRANSPORT', 'native')
    yield
    mp.undo()


#: the modes each case runs in, and with which async_handlers (the green
#: modes, in processes of their own, with the default only)
MODES = [('threading', True), ('threading', False), ('gevent', True),
         ('eventlet', True)]


@pytest.fixture(scope='module')
def servers(async_python):
    built = {}
    live, procs = [], []
    for mode, async_handlers in MODES:
        for short in (True, False):
            if mode == 'threading':
                app, sio, calls, lines = event_path_app.build(
                    short, async_handlers)
                server = LiveServer(sio, app).start()
                live.append(server)
                built[mode, short, async_handlers] = (
                    server.port, Recorded(calls, lines))
                continue
            port = free_port()
            proc = subprocess.Popen(
                [async_python, str(SERVERS / 'event_path_app.py'), str(port),
                 mode, 'short' if short else 'regular',
                 'async' if async_handlers else 'in-order'],
                env=dict(os.environ, FLASK_SOCKETIO_TRANSPORT='native'),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_for_port(port, proc=proc)
            built[mode, short, async_handlers] = (port, Recorded(port=port))
    yield built
    for server in live:
        server.stop()
    stop_processes(procs)


def transcript(port, recorded, namespaces, packets, ordered):
    """What one client sees of ``packets``, with what the handlers saw
    and the server logged; sids made alike."""
    recorded.clear()
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
    calls, lines = recorded.get()
    sids = re.compile(r'[A-Za-z0-9_-]{20}')
    out = {
        'received': [sids.sub('SID', r) if isinstance(r, str) else r
                     for r in received],
        'calls': [tuple(sids.sub('SID', c) for c in call)
                  for call in calls],
        'log': [sids.sub('SID', line) for line in lines],
        'ended': ended,
    }
    if not ordered:  # handlers ran at once: the order is theirs
        out = {key: sorted(value, key=repr) if isinstance(value, list)
               else value for key, value in out.items()}
    return out


@pytest.mark.parametrize('mode,async_handlers', MODES, ids=[
    f'{mode}, {"async handlers" if async_handlers else "in order"}'
    for mode, async_handlers in MODES])
@pytest.mark.parametrize('case', list(CASES))
def test_the_short_way_does_what_python_socketios_path_does(
        servers, case, mode, async_handlers):
    namespaces, packets = CASES[case]
    got = {}
    for short in (True, False):
        port, recorded = servers[mode, short, async_handlers]
        got[short] = transcript(port, recorded, namespaces, packets,
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
    port, recorded = servers['threading', True, False]
    seen = transcript(port, recorded, ['/', '/chat'], [
        '42["back",1]', '42/chat,["back",2]', '42["to room","r2"]'],
        ordered=True)
    assert seen['received'] == [
        '42["back",1]', '42["back",1,2]', '42/chat,["back",2]',
        '42["in room","r2"]', '4399["done"]'], seen
    assert delivered == ['in room']


def test_a_replaced_socketio_emit_sees_the_emits_back(servers, monkeypatch):
    # a wrapper on SocketIO.emit (a mock's, an APM's) sees every emit of
    # the handlers, those to the sender included, as on stock
    seen = []
    socketio_emit = SocketIO.emit

    def wrapped(self, event, *args, **kwargs):
        seen.append(event)
        return socketio_emit(self, event, *args, **kwargs)
    monkeypatch.setattr(SocketIO, 'emit', wrapped)
    port, recorded = servers['threading', True, False]
    got = transcript(port, recorded, ['/'], ['42["back",1]'], ordered=True)
    assert got['received'] == ['42["back",1]', '42["back",1,2]',
                               '4399["done"]'], got
    assert seen == ['back', 'back']


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
