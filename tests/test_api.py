"""Unit tests of the public API (Flask-SocketIO's), through the
network-free test client.

Every test builds its own Flask app and SocketIO object.  The file also runs
against the original Flask-SocketIO (from another directory, with
``--noconftest``), so it expresses Flask-SocketIO's behaviour; the few tests
about things this package does better say "Beyond stock" in a comment.
"""
from __future__ import annotations

import threading
import time
import uuid

import flask
import pytest
import socketio as python_socketio
from flask import g, request, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SessionInterface, SessionMixin

import flask_socketio
from flask_socketio import (ConnectionRefusedError, Namespace, SocketIO,
                            SocketIOTestClient, close_room, disconnect, emit,
                            join_room, leave_room, rooms, send)


def make_app(name='app'):
    app = flask.Flask(name)
    app.config['SECRET_KEY'] = 'test-secret'
    app.config['TESTING'] = True
    return app


def make(**options):
    app = make_app()
    return app, SocketIO(app, **options)


def add_sid_event(sio, namespace=None):
    """An event ``sid`` whose acknowledgement is the caller's sid."""
    @sio.on('sid', namespace=namespace)
    def _sid():
        return request.sid


def names(received):
    return [r['name'] for r in received]


# -- construction -------------------------------------------------------------

def test_socketio_with_app_registers_extension_and_server():
    app, sio = make()
    assert app.extensions['socketio'] is sio
    assert isinstance(sio.server, python_socketio.Server)
    client = sio.test_client(app)
    assert isinstance(client, SocketIOTestClient)
    assert client.is_connected()


def test_init_app_factory_merges_constructor_options():
    sio = SocketIO(manage_session=False, always_connect=True,
                   async_mode='threading')
    assert sio.server is None
    received = []

    @sio.on('connect')
    def on_connect():
        emit('hello', 'early')   # only possible with always_connect=True

    @sio.on('echo')
    def echo(data):
        received.append(data)
        return data

    app = make_app()
    sio.init_app(app, namespaces='*', async_handlers=False)
    assert app.extensions['socketio'] is sio
    assert sio.manage_session is False
    assert sio.server.always_connect is True
    assert sio.server.async_mode == 'threading'
    assert sio.async_mode == 'threading'
    assert sio.server.namespaces == '*'
    client = sio.test_client(app)
    assert client.get_received() == [
        {'name': 'hello', 'args': ['early'], 'namespace': '/'}]
    assert client.emit('echo', {'a': 1}, callback=True) == {'a': 1}
    assert received == [{'a': 1}]
    other = sio.test_client(app, namespace='/anything')
    assert other.is_connected('/anything')


def test_init_app_later_options_override_earlier_ones():
    sio = SocketIO(ping_timeout=7, max_http_buffer_size=10)
    app = make_app()
    sio.init_app(app, max_http_buffer_size=2048)
    assert sio.server.eio.ping_timeout == 7
    assert sio.server.eio.max_http_buffer_size == 2048


def test_one_socketio_for_several_apps():
    sio = SocketIO()

    @sio.on('which')
    def which():
        return flask.current_app.name

    app1, app2 = make_app('first'), make_app('second')
    sio.init_app(app1)
    sio.init_app(app2)
    assert app1.extensions['socketio'] is sio
    assert app2.extensions['socketio'] is sio
    c1 = sio.test_client(app1)
    c2 = sio.test_client(app2)
    assert c1.emit('which', callback=True) == 'first'
    assert c2.emit('which', callback=True) == 'second'


def test_independent_servers_do_not_share_clients():
    app1, sio1 = make()
    app2, sio2 = make()

    @sio1.on('go')
    def go1():
        emit('from', 1, broadcast=True)

    @sio2.on('go')
    def go2():
        emit('from', 2, broadcast=True)

    c1 = sio1.test_client(app1)
    c2 = sio2.test_client(app2)
    c1.emit('go')
    assert c1.get_received() == [{'name': 'from', 'args': [1],
                                  'namespace': '/'}]
    assert c2.get_received() == []
    c2.emit('go')
    assert c2.get_received() == [{'name': 'from', 'args': [2],
                                  'namespace': '/'}]
    assert c1.get_received() == []


def test_server_options_reach_the_servers():
    app, sio = make(ping_interval=(10, 3), ping_timeout=4,
                    max_http_buffer_size=4096, allow_upgrades=False,
                    transports=['polling'], cors_allowed_origins='*',
                    cookie='io-cookie', monitor_clients=False,
                    http_compression=False, compression_threshold=99,
                    async_handlers=False)
    eio = sio.server.eio
    assert eio.ping_interval == 10
    assert eio.ping_interval_grace_period == 3
    assert eio.ping_timeout == 4
    assert eio.max_http_buffer_size == 4096
    assert eio.allow_upgrades is False
    assert eio.transports == ['polling']
    assert eio.cors_allowed_origins == '*'
    assert eio.cookie == 'io-cookie'
    assert eio.http_compression is False
    assert eio.compression_threshold == 99
    assert sio.server.async_handlers is False
    assert SocketIO(make_app()).server.async_handlers is True


def test_default_options():
    app, sio = make()
    assert sio.manage_session is True
    assert sio.server.always_connect is False
    assert sio.server.eio.ping_interval == 25
    assert sio.server.eio.ping_timeout == 20
    assert sio.server.eio.max_http_buffer_size == 1000000


@pytest.mark.parametrize('option', ['path', 'resource'])
def test_path_option_moves_the_endpoint(option):
    app, sio = make(**{option: '/custom-io', 'monitor_clients': False})

    @app.route('/plain')
    def plain():
        return 'flask'

    http = app.test_client()
    r = http.get('/custom-io/?EIO=4&transport=polling')
    assert r.status_code == 200
    assert r.get_data(as_text=True).startswith('0{')
    assert '"sid"' in r.get_data(as_text=True)
    assert http.get('/socket.io/?EIO=4&transport=polling').status_code == 404
    assert http.get('/plain').get_data(as_text=True) == 'flask'


def test_server_attribute_and_reason():
    app, sio = make()
    assert isinstance(sio.server, python_socketio.Server)
    assert SocketIO.reason is python_socketio.Server.reason
    assert sio.reason.CLIENT_DISCONNECT == 'client disconnect'
    assert sio.reason.SERVER_DISCONNECT == 'server disconnect'
    assert sio.reason.TRANSPORT_CLOSE == 'transport close'


def test_connection_refused_error_is_importable():
    assert issubclass(flask_socketio.ConnectionRefusedError,
                      python_socketio.exceptions.ConnectionRefusedError)
    err = ConnectionRefusedError('no', {'code': 4})
    assert err.error_args == {'message': 'no', 'data': {'code': 4}}


def test_public_names():
    for name in ('SocketIO', 'SocketIOTestClient', 'Namespace', 'emit',
                 'send', 'call', 'join_room', 'leave_room', 'close_room',
                 'rooms', 'disconnect', 'ConnectionRefusedError'):
        assert hasattr(flask_socketio, name), name


# -- handler registration -----------------------------------------------------

def test_on_event_and_on_event():
    app, sio = make()

    @sio.event
    def plain(x):
        return ('plain', x)

    @sio.event(namespace='/ns')
    def in_ns(x):
        return ('in_ns', x, request.namespace)

    def late(x):
        return x * 2
    sio.on_event('late', late)
    sio.on_event('late_ns', late, namespace='/ns')

    client = sio.test_client(app)
    client.connect('/ns')
    assert client.emit('plain', 1, callback=True) == ['plain', 1]
    assert client.emit('in_ns', 2, callback=True, namespace='/ns') == \
        ['in_ns', 2, '/ns']
    assert client.emit('late', 21, callback=True) == 42
    assert client.emit('late_ns', 'ab', callback=True, namespace='/ns') == \
        'abab'
    # a handler in another namespace does not answer
    assert client.emit('plain', 1, callback=True, namespace='/ns') is None


def test_on_returns_the_undecorated_function():
    app, sio = make()

    def handler():
        return 'x'
    assert sio.on('ev')(handler) is handler


def test_message_event_with_send():
    app, sio = make()
    got = []

    @sio.on('message')
    def on_message(msg):
        got.append(msg)
        send(msg.upper())
        return 'ok'

    client = sio.test_client(app)
    assert client.send('hello', callback=True) == 'ok'
    assert got == ['hello']
    assert client.get_received() == [
        {'name': 'message', 'args': 'HELLO', 'namespace': '/'}]


def test_json_event_with_send_json():
    app, sio = make()
    got = []

    @sio.on('json')
    def on_json(data):
        got.append(data)
        send({'echo': data}, json=True)

    client = sio.test_client(app)
    client.send({'a': [1, 2]}, json=True)
    assert got == [{'a': [1, 2]}]
    assert client.get_received() == [
        {'name': 'json', 'args': {'echo': {'a': [1, 2]}}, 'namespace': '/'}]


def test_message_and_json_events_are_separate():
    app, sio = make()
    seen = []

    @sio.on('message')
    def on_message(msg):
        seen.append(('message', msg))

    @sio.on('json')
    def on_json(data):
        seen.append(('json', data))

    client = sio.test_client(app)
    client.send('text')
    client.send({'k': 'v'}, json=True)
    assert seen == [('message', 'text'), ('json', {'k': 'v'})]


def test_custom_event_with_several_arguments():
    app, sio = make()
    got = []

    @sio.on('multi')
    def multi(a, b, c):
        got.append((a, b, c))
        emit('reply', (c, b, a))
        emit('single_list', [a, b])

    client = sio.test_client(app)
    client.emit('multi', 1, 'two', {'three': 3.5})
    assert got == [(1, 'two', {'three': 3.5})]
    assert client.get_received() == [
        {'name': 'reply', 'args': [{'three': 3.5}, 'two', 1],
         'namespace': '/'},
        {'name': 'single_list', 'args': [[1, 'two']], 'namespace': '/'}]


def test_custom_event_without_arguments():
    app, sio = make()

    @sio.on('bare')
    def bare():
        emit('bare_reply')

    client = sio.test_client(app)
    client.emit('bare')
    assert client.get_received() == [
        {'name': 'bare_reply', 'args': [], 'namespace': '/'}]


def test_emit_several_positional_arguments():
    # Beyond stock: Flask-SocketIO 5.7 needs a tuple for several arguments
    # (several positional ones raise TypeError); here they are sent as such
    app, sio = make()

    @sio.on('go')
    def go():
        emit('several', 1, 2, 3)
        sio.emit('several_global', 'a', 'b', to=request.sid)

    client = sio.test_client(app)
    client.emit('go')
    assert client.get_received() == [
        {'name': 'several', 'args': [1, 2, 3], 'namespace': '/'},
        {'name': 'several_global', 'args': ['a', 'b'], 'namespace': '/'}]


# -- acknowledgements --------------------------------------------------------

def test_ack_return_values():
    app, sio = make()

    @sio.on('one')
    def one(x):
        return x + 1

    @sio.on('several')
    def several(x):
        return x, [x], {'x': x}

    @sio.on('dict')
    def as_dict():
        return {'ok': True}

    client = sio.test_client(app)
    assert client.emit('one', 41, callback=True) == 42
    assert client.emit('several', 5, callback=True) == [5, [5], {'x': 5}]
    assert client.emit('dict', callback=True) == {'ok': True}
    # without callback=True there is no acknowledgement
    assert client.emit('one', 1) is None


def test_server_emit_with_callback_to_test_client_gets_no_ack():
    app, sio = make()
    acks = []

    @sio.on('go')
    def go():
        emit('question', 'q1', callback=lambda *a: acks.append(a))
        return 'done'

    client = sio.test_client(app)
    assert client.emit('go', callback=True) == 'done'
    assert client.get_received() == [
        {'name': 'question', 'args': ['q1'], 'namespace': '/'}]
    sio.emit('question', 'q2', to=_sid_of(sio, client),
             callback=lambda *a: acks.append(a))
    assert client.get_received() == [
        {'name': 'question', 'args': ['q2'], 'namespace': '/'}]
    time.sleep(0.05)
    assert acks == []
    assert client.is_connected()


def _sid_of(sio, client, namespace='/'):
    return sio.server.manager.sid_from_eio_sid(client.eio_sid, namespace)


# -- emit / send inside handlers --------------------------------------------

@pytest.fixture
def room_app():
    app, sio = make()
    add_sid_event(sio)
    add_sid_event(sio, '/chat')

    @sio.on('join')
    def on_join(room):
        join_room(room)
        return sorted(rooms())

    @sio.on('leave')
    def on_leave(room):
        leave_room(room)
        return sorted(rooms())

    @sio.on('to_room')
    def to_room(room, data):
        emit('room_msg', data, to=room)

    @sio.on('to_room_legacy')
    def to_room_legacy(room, data):
        emit('room_msg', data, room=room)

    @sio.on('to_room_others')
    def to_room_others(room, data):
        emit('room_msg', data, to=room, include_self=False)

    @sio.on('shout')
    def shout(data):
        emit('news', data, broadcast=True)

    @sio.on('shout_others')
    def shout_others(data):
        emit('news', data, broadcast=True, include_self=False)

    @sio.on('shout_skipping')
    def shout_skipping(skip, data):
        emit('news', data, broadcast=True, skip_sid=skip)

    @sio.on('reply')
    def reply(data):
        emit('answer', data)
        send('plain ' + data)

    @sio.on('send_room')
    def send_room(room, data):
        send(data, to=room)
        send({'j': data}, json=True, to=room)

    @sio.on('send_all')
    def send_all(data):
        send(data, broadcast=True, include_self=False)

    @sio.on('cross')
    def cross(data):
        # sids differ per namespace: another namespace is addressed by room
        # or broadcast, not by replying to the sender
        emit('crossed', data, namespace='/chat', broadcast=True)

    @sio.on('back', namespace='/chat')
    def back(data):
        emit('from_chat', data, namespace='/', broadcast=True)
        emit('in_chat', data)

    @sio.on('close')
    def on_close(room):
        close_room(room)

    @sio.on('rooms_of')
    def rooms_of(sid):
        return sorted(rooms(sid=sid))

    @sio.on('put_in')
    def put_in(sid, room):
        join_room(room, sid=sid)

    @sio.on('take_out')
    def take_out(sid, room):
        leave_room(room, sid=sid)

    clients = [sio.test_client(app) for _ in range(4)]
    sids = [c.emit('sid', callback=True) for c in clients]
    return app, sio, clients, sids


def test_emit_replies_to_sender_only(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('reply', 'hi')
    assert a.get_received() == [
        {'name': 'answer', 'args': ['hi'], 'namespace': '/'},
        {'name': 'message', 'args': 'plain hi', 'namespace': '/'}]
    for other in (b, c, d):
        assert other.get_received() == []


def test_emit_to_several_rooms(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('join', 'r1')
    b.emit('join', 'r2')
    c.emit('join', 'r1')
    c.emit('join', 'r2')
    d.emit('to_room', ['r1', 'r2'], 'x')
    for client in (a, b, c):     # c is in both rooms, gets it once
        assert client.get_received() == [
            {'name': 'room_msg', 'args': ['x'], 'namespace': '/'}]
    assert d.get_received() == []


def test_join_room_and_emit_to_room(room_app):
    app, sio, (a, b, c, d), sids = room_app
    assert a.emit('join', 'red', callback=True) == sorted(['red', sids[0]])
    b.emit('join', 'red')
    c.emit('to_room', 'red', 'x')
    assert a.get_received() == [{'name': 'room_msg', 'args': ['x'],
                                 'namespace': '/'}]
    assert b.get_received() == [{'name': 'room_msg', 'args': ['x'],
                                 'namespace': '/'}]
    assert c.get_received() == []
    assert d.get_received() == []
    c.emit('to_room_legacy', 'red', 'y')
    assert names(a.get_received()) == ['room_msg']
    assert names(b.get_received()) == ['room_msg']


def test_emit_to_sid_room(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('to_room', sids[2], 'private')
    assert c.get_received() == [{'name': 'room_msg', 'args': ['private'],
                                 'namespace': '/'}]
    assert a.get_received() == b.get_received() == d.get_received() == []


def test_leave_room(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('join', 'red')
    b.emit('join', 'red')
    assert a.emit('leave', 'red', callback=True) == [sids[0]]
    d.emit('to_room', 'red', 'x')
    assert a.get_received() == []
    assert names(b.get_received()) == ['room_msg']


def test_include_self_false_in_room(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('join', 'red')
    b.emit('join', 'red')
    a.emit('to_room_others', 'red', 'x')
    assert a.get_received() == []
    assert names(b.get_received()) == ['room_msg']
    assert c.get_received() == []


def test_broadcast(room_app):
    app, sio, clients, sids = room_app
    clients[1].emit('shout', 'all')
    for client in clients:
        assert client.get_received() == [
            {'name': 'news', 'args': ['all'], 'namespace': '/'}]


def test_broadcast_include_self_false(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('shout_others', 'x')
    assert a.get_received() == []
    for other in (b, c, d):
        assert names(other.get_received()) == ['news']


def test_broadcast_skip_sid_list(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('shout_skipping', [sids[1], sids[2]], 'x')
    assert names(a.get_received()) == ['news']
    assert b.get_received() == []
    assert c.get_received() == []
    assert names(d.get_received()) == ['news']
    a.emit('shout_skipping', sids[3], 'y')
    assert names(d.get_received()) == []
    assert names(b.get_received()) == ['news']


def test_send_to_room_and_broadcast(room_app):
    app, sio, (a, b, c, d), sids = room_app
    b.emit('join', 'blue')
    a.emit('send_room', 'blue', 'hey')
    assert b.get_received() == [
        {'name': 'message', 'args': 'hey', 'namespace': '/'},
        {'name': 'json', 'args': {'j': 'hey'}, 'namespace': '/'}]
    assert a.get_received() == []
    c.emit('send_all', 'everyone')
    assert c.get_received() == []
    for other in (a, b, d):
        assert other.get_received() == [
            {'name': 'message', 'args': 'everyone', 'namespace': '/'}]


def test_emit_namespace_override_and_global(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.connect('/chat')
    a.emit('cross', 'x')
    assert a.get_received('/chat') == [
        {'name': 'crossed', 'args': ['x'], 'namespace': '/chat'}]
    assert a.get_received('/') == []
    assert b.get_received() == []    # b is not in /chat
    b.connect('/chat')
    b.emit('back', 'y', namespace='/chat')
    for client in (a, b, c, d):
        assert client.get_received('/') == [
            {'name': 'from_chat', 'args': ['y'], 'namespace': '/'}]
    assert a.get_received('/chat') == []
    assert b.get_received('/chat') == [
        {'name': 'in_chat', 'args': ['y'], 'namespace': '/chat'}]


def test_rooms_join_leave_for_another_sid(room_app):
    app, sio, (a, b, c, d), sids = room_app
    assert a.emit('rooms_of', sids[1], callback=True) == [sids[1]]
    a.emit('put_in', sids[1], 'green')
    assert a.emit('rooms_of', sids[1], callback=True) == \
        sorted([sids[1], 'green'])
    d.emit('to_room', 'green', 'g')
    assert names(b.get_received()) == ['room_msg']
    assert a.get_received() == []
    a.emit('take_out', sids[1], 'green')
    assert a.emit('rooms_of', sids[1], callback=True) == [sids[1]]


def test_close_room_in_handler(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('join', 'red')
    b.emit('join', 'red')
    c.emit('close', 'red')
    assert a.emit('rooms_of', sids[0], callback=True) == [sids[0]]
    d.emit('to_room', 'red', 'x')
    assert a.get_received() == []
    assert b.get_received() == []


def test_socketio_close_room_outside_handlers(room_app):
    app, sio, (a, b, c, d), sids = room_app
    a.emit('join', 'red')
    sio.close_room('red')
    assert a.emit('rooms_of', sids[0], callback=True) == [sids[0]]
    sio.emit('x', 1, to='red')
    assert a.get_received() == []


def test_rooms_include_own_sid():
    app, sio = make()

    @sio.on('my_rooms')
    def my_rooms():
        return list(rooms())

    @sio.on('my_rooms', namespace='/other')
    def my_rooms_other():
        return [request.sid, list(rooms())]

    client = sio.test_client(app)
    client.connect('/other')
    own = _sid_of(sio, client)
    assert client.emit('my_rooms', callback=True) == [own]
    sid, in_other = client.emit('my_rooms', callback=True, namespace='/other')
    assert in_other == [sid]
    assert sid == _sid_of(sio, client, '/other')


# -- server-originated traffic ---------------------------------------------

def test_socketio_emit_and_send_from_http_route():
    app, sio = make(namespaces=['/', '/ns'])
    add_sid_event(sio)

    @app.route('/notify/<sid>')
    def notify(sid):
        sio.emit('note', {'all': True})
        sio.emit('note', {'one': True}, to=sid)
        sio.emit('note', 'ns', namespace='/ns')
        sio.send('text')
        sio.send({'as': 'json'}, json=True, to=sid)
        return 'sent'

    a = sio.test_client(app)
    b = sio.test_client(app)
    b.connect('/ns')
    http = app.test_client()
    assert http.get(f'/notify/{a.emit("sid", callback=True)}').data == b'sent'
    assert a.get_received() == [
        {'name': 'note', 'args': [{'all': True}], 'namespace': '/'},
        {'name': 'note', 'args': [{'one': True}], 'namespace': '/'},
        {'name': 'message', 'args': 'text', 'namespace': '/'},
        {'name': 'json', 'args': {'as': 'json'}, 'namespace': '/'}]
    assert b.get_received() == [
        {'name': 'note', 'args': [{'all': True}], 'namespace': '/'},
        {'name': 'message', 'args': 'text', 'namespace': '/'}]
    assert b.get_received('/ns') == [
        {'name': 'note', 'args': ['ns'], 'namespace': '/ns'}]


def test_socketio_emit_outside_any_context_with_tuple_and_skip_sid():
    app, sio = make()
    a = sio.test_client(app)
    b = sio.test_client(app)
    c = sio.test_client(app)
    sio.emit('pair', (1, 2), skip_sid=[_sid_of(sio, a), _sid_of(sio, b)])
    assert a.get_received() == b.get_received() == []
    assert c.get_received() == [{'name': 'pair', 'args': [1, 2],
                                 'namespace': '/'}]
    sio.emit('pair', (3, 4), room=_sid_of(sio, b))
    assert b.get_received() == [{'name': 'pair', 'args': [3, 4],
                                 'namespace': '/'}]
    assert a.get_received() == c.get_received() == []


def test_socketio_emit_include_self_false_inside_handler():
    app, sio = make()

    @sio.on('go')
    def go():
        sio.emit('news', 'x', include_self=False)

    a = sio.test_client(app)
    b = sio.test_client(app)
    a.emit('go')
    assert a.get_received() == []
    assert names(b.get_received()) == ['news']


# -- disconnect -------------------------------------------------------------

def test_server_side_disconnect():
    app, sio = make()
    reasons = []

    @sio.on('kick_me')
    def kick_me():
        disconnect()

    @sio.on('kick')
    def kick(sid):
        disconnect(sid=sid)

    @sio.on('disconnect')
    def on_disconnect(reason):
        reasons.append((request.sid, reason))

    add_sid_event(sio)
    a = sio.test_client(app)
    b = sio.test_client(app)
    c = sio.test_client(app)
    a_sid = a.emit('sid', callback=True)
    a.emit('kick_me')
    assert not a.is_connected()
    assert b.is_connected() and c.is_connected()
    assert reasons == [(a_sid, SocketIO.reason.SERVER_DISCONNECT)]
    with pytest.raises(RuntimeError):
        a.emit('sid')
    b_sid = b.emit('sid', callback=True)
    c.emit('kick', b_sid)
    assert not b.is_connected()
    assert c.is_connected()
    assert reasons[-1] == (b_sid, sio.reason.SERVER_DISCONNECT)
    assert c.emit('sid', callback=True) == _sid_of(sio, c)


def test_disconnect_silent_argument_is_accepted():
    app, sio = make()

    @sio.on('bye')
    def bye():
        disconnect(silent=True)

    client = sio.test_client(app)
    client.emit('bye')
    assert not client.is_connected()


def test_client_disconnect_reason():
    app, sio = make()
    reasons = []

    @sio.on('disconnect')
    def on_disconnect(reason):
        reasons.append(reason)

    client = sio.test_client(app)
    client.disconnect()
    assert not client.is_connected()
    assert reasons == [SocketIO.reason.CLIENT_DISCONNECT]
    with pytest.raises(RuntimeError):
        client.disconnect()


def test_disconnect_handler_without_reason():
    app, sio = make()
    calls = []

    @sio.on('disconnect')
    def on_disconnect():
        calls.append(request.sid)

    client = sio.test_client(app)
    sid = _sid_of(sio, client)
    client.disconnect()
    assert calls == [sid]


def test_disconnect_one_namespace_keeps_the_other():
    app, sio = make()
    gone = []

    @sio.on('disconnect', namespace='/ns')
    def left(reason):
        gone.append((request.namespace, reason))

    @sio.on('ping')
    def ping():
        return 'pong'

    client = sio.test_client(app)
    client.connect('/ns')
    assert client.is_connected('/ns')
    client.disconnect('/ns')
    assert gone == [('/ns', sio.reason.CLIENT_DISCONNECT)]
    assert not client.is_connected('/ns')
    assert client.is_connected('/')
    assert client.emit('ping', callback=True) == 'pong'


# -- connect --------------------------------------------------------------

def test_connect_handler_with_auth():
    app, sio = make()
    seen = []

    @sio.on('connect')
    def on_connect(auth):
        seen.append(auth)

    sio.test_client(app, auth={'token': 'abc'})
    sio.test_client(app)
    assert seen == [{'token': 'abc'}, None]


def test_connect_handler_without_auth_argument():
    app, sio = make()
    seen = []

    @sio.on('connect')
    def on_connect():
        seen.append(request.sid)

    client = sio.test_client(app, auth={'token': 'abc'})
    assert client.is_connected()
    assert seen == [_sid_of(sio, client)]


def test_connect_refused_by_returning_false():
    app, sio = make()

    @sio.on('connect')
    def on_connect(auth):
        return bool(auth and auth.get('ok'))

    refused = sio.test_client(app)
    assert not refused.is_connected()
    with pytest.raises(RuntimeError):
        refused.emit('anything')
    accepted = sio.test_client(app, auth={'ok': 1})
    assert accepted.is_connected()


def test_connect_refused_with_exception():
    app, sio = make()
    attempts = []

    @sio.on('connect', namespace='/private')
    def on_connect(auth):
        attempts.append(auth)
        raise ConnectionRefusedError('unauthorized', {'retry': False})

    client = sio.test_client(app)
    client.connect('/private', auth={'k': 1})
    assert attempts == [{'k': 1}]
    assert not client.is_connected('/private')
    assert client.is_connected('/')


def test_connect_refusal_sends_error_data():
    # the refusal's args reach the client as the CONNECT_ERROR data
    from socketio import packet
    app, sio = make()
    packets = []

    @sio.on('connect', namespace='/private')
    def on_connect():
        raise ConnectionRefusedError('nope', 7)

    client = sio.test_client(app)
    real_send = sio.server._send_packet

    def spy(eio_sid, pkt):
        packets.append((pkt.packet_type, pkt.data))
        return real_send(eio_sid, pkt)
    sio.server._send_packet = spy
    client.connect('/private')
    assert not client.is_connected('/private')
    assert (packet.CONNECT_ERROR, {'message': 'nope', 'data': 7}) in packets


def test_always_connect_lets_connect_handler_emit():
    app, sio = make(always_connect=True)

    @sio.on('connect')
    def on_connect(auth):
        emit('welcome', request.sid)
        if auth == 'bad':
            return False

    client = sio.test_client(app)
    assert client.is_connected()
    assert client.get_received() == [
        {'name': 'welcome', 'args': [_sid_of(sio, client)],
         'namespace': '/'}]
    bad = sio.test_client(app, auth='bad')
    assert not bad.is_connected()
    assert client.is_connected()


def test_connect_query_string_and_headers():
    app, sio = make()
    seen = {}

    @sio.on('connect')
    def on_connect():
        seen['args'] = request.args.to_dict()
        seen['token'] = request.headers.get('X-Token')
        seen['path'] = request.path

    @sio.on('later')
    def later():
        return [request.args.get('a'), request.headers.get('X-Token')]

    client = sio.test_client(app, query_string='a=1&b=two',
                             headers={'X-Token': 'secret'})
    assert seen == {'args': {'a': '1', 'b': 'two'}, 'token': 'secret',
                    'path': '/socket.io'}
    assert client.emit('later', callback=True) == ['1', 'secret']
    sio.test_client(app, query_string='?c=3')
    assert seen['args'] == {'c': '3'}
    assert seen['token'] is None


def test_connect_to_second_namespace_with_auth_and_query():
    app, sio = make()
    seen = []

    @sio.on('connect', namespace='/second')
    def on_connect(auth):
        seen.append((request.namespace, auth, request.args.get('q')))

    client = sio.test_client(app)
    assert not client.is_connected('/second')
    client.connect('/second', query_string='q=z', auth={'a': 1})
    assert client.is_connected('/second')
    assert client.is_connected()
    assert seen == [('/second', {'a': 1}, 'z')]


def test_flask_test_client_environ_applies_to_connection():
    app, sio = make()
    seen = {}

    @sio.on('connect')
    def on_connect():
        seen['agent'] = request.headers.get('User-Agent')
        seen['custom'] = request.headers.get('X-Custom')
        seen['remote'] = request.remote_addr

    http = app.test_client()
    http.environ_base['HTTP_X_CUSTOM'] = 'from-base'
    sio.test_client(app, flask_test_client=http)
    assert seen['custom'] == 'from-base'
    assert seen['remote'] == '127.0.0.1'
    assert seen['agent'].startswith('Werkzeug/')


def test_socketio_test_client_constructed_directly():
    app, sio = make()

    @sio.on('connect', namespace='/d')
    def on_connect(auth):
        return auth == {'ok': True}

    client = SocketIOTestClient(app, sio, namespace='/d', auth={'ok': True})
    assert client.is_connected('/d')
    assert not SocketIOTestClient(app, sio, namespace='/d').is_connected(
        '/d')


def test_test_client_namespace_argument():
    app, sio = make()

    @sio.on('where', namespace='/only')
    def where():
        return request.namespace

    client = sio.test_client(app, namespace='/only')
    assert client.is_connected('/only')
    assert not client.is_connected('/')
    assert client.emit('where', namespace='/only', callback=True) == '/only'


def test_namespaces_option():
    app, sio = make()

    @sio.on('x', namespace='/known')
    def x():
        pass

    assert sio.test_client(app, namespace='/known').is_connected('/known')
    assert not sio.test_client(app, namespace='/unknown').is_connected(
        '/unknown')

    app2, sio2 = make(namespaces='*')
    client = sio2.test_client(app2, namespace='/whatever')
    assert client.is_connected('/whatever')

    app3, sio3 = make(namespaces=['/listed'])
    assert sio3.test_client(app3, namespace='/listed').is_connected(
        '/listed')
    assert not sio3.test_client(app3, namespace='/other').is_connected(
        '/other')


# -- catch-alls --------------------------------------------------------------

def test_catch_all_event():
    app, sio = make()
    seen = []

    @sio.on('*')
    def any_event(event, *args):
        seen.append((event, list(args)))
        return event

    @sio.on('named')
    def named():
        return 'named handler'

    client = sio.test_client(app)
    assert client.emit('whatever', 1, 2, callback=True) == 'whatever'
    assert client.emit('named', callback=True) == 'named handler'
    assert seen == [('whatever', [1, 2])]


def test_catch_all_event_in_a_namespace():
    app, sio = make()

    @sio.on('*', namespace='/ns')
    def any_event(event, data):
        return [event, data, request.namespace]

    client = sio.test_client(app, namespace='/ns')
    assert client.emit('foo', 3, namespace='/ns', callback=True) == \
        ['foo', 3, '/ns']


def test_catch_all_namespace():
    # a '*' namespace handler does not by itself accept every namespace
    app, sio = make(namespaces='*')
    connected = []

    @sio.on('connect', namespace='*')
    def on_connect():
        connected.append(request.namespace)

    @sio.on('where', namespace='*')
    def where(data):
        emit('here', [request.namespace, data])
        return request.namespace

    client = sio.test_client(app, namespace='/a')
    client.connect('/b')
    assert connected == ['/a', '/b']
    assert client.emit('where', 1, namespace='/a', callback=True) == '/a'
    assert client.emit('where', 2, namespace='/b', callback=True) == '/b'
    assert client.get_received('/a') == [
        {'name': 'here', 'args': [['/a', 1]], 'namespace': '/a'}]
    assert client.get_received('/b') == [
        {'name': 'here', 'args': [['/b', 2]], 'namespace': '/b'}]


def test_catch_all_event_and_namespace_together():
    # Beyond stock: Flask-SocketIO 5.7 swaps the event and the namespace in
    # this combination
    app, sio = make(namespaces='*')

    @sio.on('*', namespace='*')
    def anything(event, data):
        return [event, request.namespace, data, request.sid]

    client = sio.test_client(app, namespace='/zone')
    assert client.emit('what', 9, namespace='/zone', callback=True) == \
        ['what', '/zone', 9, _sid_of(sio, client, '/zone')]


# -- errors --------------------------------------------------------------

def test_on_error_for_a_namespace_and_default():
    app, sio = make()
    caught = []

    @sio.on('fail')
    def fail():
        raise ValueError('root')

    @sio.on('fail', namespace='/ns')
    def fail_ns():
        raise KeyError('ns')

    @sio.on('fail', namespace='/other')
    def fail_other():
        raise RuntimeError('other')

    @sio.on_error()
    def root_error(exc):
        caught.append(('root', type(exc), request.event['message'],
                       request.namespace))
        return 'root handled'

    @sio.on_error('/ns')
    def ns_error(exc):
        caught.append(('ns', type(exc), request.event['message'],
                       request.namespace))
        return 'ns handled', 2

    @sio.on_error_default
    def default_error(exc):
        caught.append(('default', type(exc), request.event['message'],
                       request.namespace))
        return 'default handled'

    client = sio.test_client(app)
    client.connect('/ns')
    client.connect('/other')
    assert client.emit('fail', callback=True) == 'root handled'
    assert client.emit('fail', callback=True, namespace='/ns') == \
        ['ns handled', 2]
    assert client.emit('fail', callback=True, namespace='/other') == \
        'default handled'
    assert caught == [('root', ValueError, 'fail', '/'),
                      ('ns', KeyError, 'fail', '/ns'),
                      ('default', RuntimeError, 'fail', '/other')]


def test_unhandled_error_reaches_the_test_client():
    app, sio = make()

    @sio.on('fail')
    def fail():
        return 1 / 0

    client = sio.test_client(app)
    with pytest.raises(ZeroDivisionError):
        client.emit('fail')


def test_on_error_rejects_non_callables():
    app, sio = make()
    with pytest.raises(ValueError):
        sio.on_error()('not callable')
    with pytest.raises(ValueError):
        sio.on_error_default('not callable')


# -- class-based namespaces ------------------------------------------------

def test_class_based_namespace():
    app, sio = make()
    log = []

    class Chat(Namespace):
        def on_connect(self, auth):
            log.append(('connect', request.namespace, auth))

        def on_disconnect(self, reason):
            log.append(('disconnect', reason))

        def on_hello(self, data):
            self.emit('hello_all', data)           # everyone, this namespace
            return 'hi ' + data

        def on_tell(self, room, data):
            self.emit('told', data, room=room)

        def on_tell_others(self, room, data):
            self.emit('told', data, room=room, include_self=False)

        def on_text(self, data):
            self.send(data)

        def on_join(self, room):
            join_room(room)

        def on_close(self, room):
            self.close_room(room)

        def on_global(self, data):
            self.emit('global', data, namespace='/')

        def on_sid(self):
            return request.sid

    sio.on_namespace(Chat('/chat'))
    a = sio.test_client(app, namespace='/chat', auth={'u': 'a'})
    b = sio.test_client(app, namespace='/chat')
    a.connect('/')
    assert log == [('connect', '/chat', {'u': 'a'}),
                   ('connect', '/chat', None)]
    assert a.emit('hello', 'you', namespace='/chat', callback=True) == \
        'hi you'
    for c in (a, b):
        assert c.get_received('/chat') == [
            {'name': 'hello_all', 'args': ['you'], 'namespace': '/chat'}]
    a.emit('join', 'r', namespace='/chat')
    b.emit('join', 'r', namespace='/chat')
    b.emit('tell', 'r', 'x', namespace='/chat')
    assert names(a.get_received('/chat')) == ['told']
    assert names(b.get_received('/chat')) == ['told']
    b.emit('tell_others', 'r', 'y', namespace='/chat')
    assert names(a.get_received('/chat')) == ['told']
    assert b.get_received('/chat') == []
    b.emit('text', 'plain', namespace='/chat')
    assert a.get_received('/chat') == [
        {'name': 'message', 'args': 'plain', 'namespace': '/chat'}]
    b.get_received('/chat')
    a.emit('close', 'r', namespace='/chat')
    b.emit('tell', 'r', 'z', namespace='/chat')
    assert a.get_received('/chat') == b.get_received('/chat') == []
    b.emit('global', 'g', namespace='/chat')
    assert a.get_received('/') == [
        {'name': 'global', 'args': ['g'], 'namespace': '/'}]
    assert a.get_received('/chat') == []
    b.disconnect('/chat')
    assert log[-1] == ('disconnect', sio.reason.CLIENT_DISCONNECT)


def test_class_namespace_registered_before_init_app():
    sio = SocketIO()

    class Ns(Namespace):
        def on_connect(self):
            return None

        def on_disconnect(self):
            gone.append(True)

        def on_echo(self, data):
            return data

    gone = []
    sio.on_namespace(Ns('/late'))
    app = make_app()
    sio.init_app(app)
    client = sio.test_client(app, namespace='/late')
    assert client.emit('echo', [1], namespace='/late', callback=True) == [1]
    client.disconnect('/late')
    assert gone == [True]


def test_on_namespace_rejects_other_objects():
    app, sio = make()
    with pytest.raises(ValueError):
        sio.on_namespace(object())


def test_class_namespace_connect_refusal():
    app, sio = make()

    class Guarded(Namespace):
        def on_connect(self, auth):
            if auth != 'key':
                raise ConnectionRefusedError('key needed')

    sio.on_namespace(Guarded('/guarded'))
    assert not sio.test_client(app, namespace='/guarded').is_connected(
        '/guarded')
    assert sio.test_client(app, namespace='/guarded',
                           auth='key').is_connected('/guarded')


def test_class_namespace_error_method():
    app, sio = make()
    errors = []

    class Fragile(Namespace):
        def on_boom(self, data):
            raise ValueError(data)

        def error(self, exc):
            errors.append(exc)
            return 'error: ' + str(exc)

    sio.on_namespace(Fragile('/fragile'))
    client = sio.test_client(app, namespace='/fragile')
    assert client.emit('boom', 'bad', namespace='/fragile',
                       callback=True) == 'error: bad'
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    # events without a method are ignored
    client.emit('nothing', namespace='/fragile')
    assert len(errors) == 1
    assert client.get_received('/fragile') == []
    assert client.is_connected('/fragile')


def test_class_namespace_trigger_event_override():
    app, sio = make()
    seen = []

    class Routed(Namespace):
        def trigger_event(self, event, *args):
            # custom dispatch: dashes become underscores, unknown events
            # go to on_fallback
            name = event.replace('-', '_')
            if name not in ('connect', 'disconnect') and \
                    not hasattr(self, 'on_' + name):
                name = 'fallback'
            seen.append(event)
            return super().trigger_event(name, *args)

        def on_get_data(self, key):
            return {'key': key, 'event': request.event['message']}

        def on_fallback(self, *args):
            return 'fallback'

    sio.on_namespace(Routed('/routed'))
    client = sio.test_client(app, namespace='/routed')
    assert client.emit('get-data', 'k', namespace='/routed',
                       callback=True) == {'key': 'k', 'event': 'get_data'}
    assert client.emit('mystery', 1, namespace='/routed',
                       callback=True) == 'fallback'
    assert seen == ['connect', 'get-data', 'mystery']


# -- the Flask context inside handlers --------------------------------------

def test_request_sid_namespace_event():
    app, sio = make()

    @sio.on('probe', namespace='/p')
    def probe(a, b):
        return {'sid': request.sid, 'namespace': request.namespace,
                'message': request.event['message'],
                'args': list(request.event['args']),
                'app': flask.current_app.name}

    client = sio.test_client(app, namespace='/p')
    got = client.emit('probe', 1, 'x', namespace='/p', callback=True)
    assert got == {'sid': _sid_of(sio, client, '/p'), 'namespace': '/p',
                   'message': 'probe', 'args': [1, 'x'], 'app': app.name}


def test_request_event_for_connect():
    app, sio = make()
    seen = []

    @sio.on('connect')
    def on_connect():
        seen.append((request.event['message'], request.sid))

    client = sio.test_client(app)
    assert seen == [('connect', _sid_of(sio, client))]


def test_disconnect_handler_context():
    app, sio = make()
    seen = []

    @sio.on('set')
    def set_():
        session['name'] = 'ann'

    @sio.on('disconnect')
    def on_disconnect(reason):
        seen.append((request.sid, request.namespace, session.get('name'),
                     request.event['message']))

    client = sio.test_client(app)
    sid = _sid_of(sio, client)
    client.emit('set')
    client.disconnect()
    assert seen == [(sid, '/', 'ann', 'disconnect')]


def test_handler_runs_in_one_request_context_with_teardown():
    app, sio = make()
    calls = []
    app.teardown_request(lambda exc: calls.append('teardown_request'))
    app.teardown_appcontext(lambda exc: calls.append('teardown_appcontext'))

    @sio.on('ev')
    def ev():
        calls.append('handler')

    client = sio.test_client(app)
    client.emit('ev')
    client.emit('ev')
    assert calls == ['handler', 'teardown_request', 'teardown_appcontext'] * 2


def test_teardown_with_nothing_per_request_and_hooks_that_come_later():
    # with nothing to tear down per request the pop skips Flask's
    # do_teardown_request; an app context's teardown still runs, and a
    # receiver of request_tearing_down connected later is called
    app, sio = make()
    calls = []
    app.teardown_appcontext(lambda exc: calls.append('teardown_appcontext'))

    @sio.on('ev')
    def ev():
        flask.g.mine = len(calls)
        calls.append('handler')

    def tearing_down(sender, exc=None, **kwargs):
        calls.append(('request_tearing_down', exc))

    client = sio.test_client(app)
    client.emit('ev')
    flask.request_tearing_down.connect(tearing_down, app)
    try:
        client.emit('ev')
    finally:
        flask.request_tearing_down.disconnect(tearing_down, app)
    client.emit('ev')
    assert calls == ['handler', 'teardown_appcontext',
                     'handler', ('request_tearing_down', None),
                     'teardown_appcontext',
                     'handler', 'teardown_appcontext']


def test_a_request_class_with_its_own_close_is_closed_per_event():
    # the pop skips werkzeug's Request.close when no form was parsed (it
    # would close nothing), never a close of the app's own
    app, sio = make()
    closed = []

    class Request(flask.Request):
        def close(self):
            closed.append(self.event['args'])
            super().close()
    app.request_class = Request

    @sio.on('ev')
    def ev(n):
        return n

    client = sio.test_client(app)
    client.emit('ev', 1)
    client.emit('ev', 2)
    assert closed[-2:] == [(1,), (2,)]


def test_request_url_match_is_the_connections_in_every_event():
    from werkzeug.routing import BaseConverter
    app, sio = make()
    matches = []

    class Counted(BaseConverter):
        def to_python(self, value):
            matches.append(value)
            return value
    app.url_map.converters['counted'] = Counted

    @app.route('/<counted:segment>')
    def page(segment):
        return segment

    @sio.on('where')
    def where():
        seen = (str(request.url_rule), dict(request.view_args))
        request.view_args['segment'] = 'changed'  # not seen by the next
        return seen

    client = sio.test_client(app)
    first = client.emit('where', callback=True)
    assert first == ['/<counted:segment>', {'segment': 'socket.io'}]
    assert client.emit('where', callback=True) == first
    # Beyond stock: matched once for the connection, not once per event
    assert len(matches) == 1


def test_request_is_a_new_object_per_event_from_the_connections_fields():
    app, sio = make()
    seen = []

    @app.route('/page')
    def page():
        return 'page'

    @sio.on('look')
    def look():
        # a cached property computed in one event is not in the next's
        # (the object itself is kept: a freed one's id may be reused)
        seen.append((request._get_current_object(),
                     'args' in vars(request._get_current_object())))
        return [request.args.get('room'), request.host, flask.url_for('page'),
                request.environ.get('werkzeug.request') is
                request._get_current_object()]

    client = sio.test_client(app, query_string='room=r1')
    for _ in range(3):
        assert client.emit('look', callback=True) == [
            'r1', 'localhost', '/page', True]
    assert [cached for _, cached in seen] == [False] * 3
    assert len({id(request) for request, _ in seen}) == 3


def test_request_class_with_its_own_init_is_made_for_every_event():
    app, sio = make()
    made = []

    class Request(flask.Request):
        def __init__(self, environ, *args, **kwargs):
            super().__init__(environ, *args, **kwargs)
            made.append(self)
            self.serial = len(made)
    app.request_class = Request

    @sio.on('serial')
    def serial():
        return request.serial

    client = sio.test_client(app)
    before = len(made)
    assert client.emit('serial', callback=True) == before + 1
    assert client.emit('serial', callback=True) == before + 2


def test_overridden_url_adapter_is_made_for_every_event():
    class App(flask.Flask):
        adapters = 0

        def create_url_adapter(self, request):
            if request is not None:
                App.adapters += 1
            return super().create_url_adapter(request)
    app = App(__name__)
    app.config['SECRET_KEY'] = 'secret'
    sio = SocketIO(app)

    @sio.on('ping_me')
    def ping_me():
        return App.adapters

    client = sio.test_client(app)
    first = client.emit('ping_me', callback=True)
    assert client.emit('ping_me', callback=True) == first + 1


def test_flask_g_is_per_event():
    app, sio = make()

    @sio.on('set')
    def set_g(value):
        had = hasattr(g, 'value')
        g.value = value
        return had

    @sio.on('get')
    def get_g():
        return getattr(g, 'value', 'unset')

    client = sio.test_client(app)
    assert client.emit('set', 5, callback=True) is False
    assert client.emit('get', callback=True) == 'unset'
    assert client.emit('set', 6, callback=True) is False


# -- sessions ---------------------------------------------------------------

def session_app(**options):
    app, sio = make(**options)

    @app.route('/login/<name>')
    def login(name):
        session['user'] = name
        return 'ok'

    @app.route('/whoami')
    def whoami():
        return {'user': session.get('user'), 'extra': session.get('extra')}

    @sio.on('get')
    def get(key):
        return session.get(key, 'unset')

    @sio.on('set')
    def set_(key, value):
        session[key] = value

    return app, sio


def test_managed_session_persists_between_events_per_client():
    app, sio = session_app()
    a = sio.test_client(app)
    b = sio.test_client(app)
    assert a.emit('get', 'user', callback=True) == 'unset'
    a.emit('set', 'user', 'alice')
    assert a.emit('get', 'user', callback=True) == 'alice'
    assert b.emit('get', 'user', callback=True) == 'unset'
    b.emit('set', 'user', 'bob')
    assert a.emit('get', 'user', callback=True) == 'alice'
    assert b.emit('get', 'user', callback=True) == 'bob'


def test_managed_session_shared_between_namespaces_of_a_client():
    app, sio = session_app()

    @sio.on('get', namespace='/ns')
    def get_ns(key):
        return session.get(key, 'unset')

    client = sio.test_client(app)
    client.connect('/ns')
    client.emit('set', 'k', 'v')
    assert client.emit('get', 'k', namespace='/ns', callback=True) == 'v'


def test_managed_session_seeded_from_flask_cookie_never_written_back():
    app, sio = session_app()
    http = app.test_client()
    assert http.get('/login/alice').data == b'ok'
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit('get', 'user', callback=True) == 'alice'
    client.emit('set', 'user', 'mallory')
    client.emit('set', 'extra', 1)
    assert client.emit('get', 'user', callback=True) == 'mallory'
    assert http.get('/whoami').get_json() == {'user': 'alice',
                                              'extra': None}
    # a client without the Flask test client has no cookie session
    assert sio.test_client(app).emit('get', 'user', callback=True) == \
        'unset'
    # the session seen by a socket is a copy taken at connect time
    http.get('/login/carol')
    assert client.emit('get', 'user', callback=True) == 'mallory'
    assert sio.test_client(app, flask_test_client=http).emit(
        'get', 'user', callback=True) == 'carol'


class StoreSession(dict, SessionMixin):
    def __init__(self, data=None, sid=None):
        super().__init__(data or {})
        self.sid = sid or uuid.uuid4().hex


class StoreSessionInterface(SessionInterface):
    """A server-side session store keyed by a cookie."""

    def __init__(self):
        self.store = {}

    def open_session(self, app, request):
        sid = request.cookies.get('store_sid')
        if sid in self.store:
            return StoreSession(self.store[sid], sid)
        return StoreSession()

    def save_session(self, app, session, response):
        self.store[session.sid] = dict(session)
        response.set_cookie('store_sid', session.sid)


class RequestAwareSessionInterface(StoreSessionInterface):
    """Opens sessions from ``flask.request``, as Flask allows."""

    def open_session(self, app, request):
        assert flask.request.environ is request.environ
        return super().open_session(app, flask.request)


@pytest.mark.parametrize('manage_session', [True, False])
def test_session_opened_inside_the_request_context(manage_session):
    app, sio = session_app(manage_session=manage_session)
    app.session_interface = RequestAwareSessionInterface()
    http = app.test_client()
    http.get('/login/zoe')
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit('get', 'user', callback=True) == 'zoe'


def test_unmanaged_session_uses_flask_session_interface():
    app, sio = session_app(manage_session=False)
    app.session_interface = StoreSessionInterface()
    http = app.test_client()
    http.get('/login/alice')
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit('get', 'user', callback=True) == 'alice'
    client.emit('set', 'extra', 42)
    # saved through the interface: seen by HTTP and by the next event
    assert http.get('/whoami').get_json() == {'user': 'alice', 'extra': 42}
    assert client.emit('get', 'extra', callback=True) == 42
    http.get('/login/bob')
    assert client.emit('get', 'user', callback=True) == 'bob'


def test_managed_session_ignores_flask_session_interface():
    app, sio = session_app()
    app.session_interface = StoreSessionInterface()
    http = app.test_client()
    http.get('/login/alice')
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit('get', 'user', callback=True) == 'alice'
    client.emit('set', 'extra', 42)
    assert http.get('/whoami').get_json() == {'user': 'alice',
                                              'extra': None}
    http.get('/login/bob')
    assert client.emit('get', 'user', callback=True) == 'alice'


# -- serialisation ----------------------------------------------------------

class Money:
    def __init__(self, cents):
        self.cents = cents


class MoneyJSONProvider(DefaultJSONProvider):
    @staticmethod
    def default(o):
        if isinstance(o, Money):
            return {'cents': o.cents}
        return DefaultJSONProvider.default(o)


def test_flask_json_uses_app_json_provider():
    app = make_app()
    app.json_provider_class = MoneyJSONProvider
    app.json = MoneyJSONProvider(app)
    sio = SocketIO(app, json=flask.json)
    teardowns = []
    app.teardown_appcontext(teardowns.append)

    @sio.on('price')
    def price(data):
        emit('price_is', Money(data['cents'] * 2))
        return Money(data['cents'])

    @app.route('/broadcast')
    def broadcast():
        sio.emit('from_route', Money(3))
        return 'ok'

    client = sio.test_client(app)
    assert client.emit('price', {'cents': 5}, callback=True) == {'cents': 5}
    assert client.get_received() == [
        {'name': 'price_is', 'args': [{'cents': 10}], 'namespace': '/'}]
    app.test_client().get('/broadcast')
    # outside any context too (background tasks, other threads), without
    # pushing one (and running its teardown callbacks) per packet
    teardowns_before = len(teardowns)
    sio.emit('outside', Money(4))
    assert len(teardowns) == teardowns_before
    assert client.get_received() == [
        {'name': 'from_route', 'args': [{'cents': 3}], 'namespace': '/'},
        {'name': 'outside', 'args': [{'cents': 4}], 'namespace': '/'}]


def test_custom_json_module():
    import json as std_json
    calls = []

    class TracingJSON:
        @staticmethod
        def dumps(*args, **kwargs):
            calls.append('dumps')
            return std_json.dumps(*args, **kwargs)

        @staticmethod
        def loads(*args, **kwargs):
            calls.append('loads')
            return std_json.loads(*args, **kwargs)

    app, sio = make(json=TracingJSON)

    @sio.on('echo')
    def echo(data):
        return data

    client = sio.test_client(app)
    calls.clear()
    assert client.emit('echo', {'a': [1, 'b']}, callback=True) == \
        {'a': [1, 'b']}
    assert 'dumps' in calls and 'loads' in calls


def test_msgpack_serializer_round_trip():
    import msgpack  # noqa: F401  (a test dependency: fail, never skip)
    app, sio = make(serializer='msgpack')

    @sio.on('echo')
    def echo(data):
        emit('echoed', data)
        return data, 'extra'

    client = sio.test_client(app)
    payload = {'n': [1, 2.5, None, True], 's': 'text', 'b': b'\x00\xffraw'}
    assert client.emit('echo', payload, callback=True) == [payload, 'extra']
    assert client.get_received() == [
        {'name': 'echoed', 'args': [payload], 'namespace': '/'}]


def test_binary_payloads_in_events_and_acks():
    app, sio = make()
    got = []

    @sio.on('bin')
    def on_bin(top, nested):
        got.append((top, nested))
        emit('bin_back', (nested, top))
        return top, nested

    @sio.on('only_bytes')
    def only_bytes(data):
        return data

    client = sio.test_client(app)
    top = b'\x00\x01\xfe\xff'
    nested = {'list': [b'abc', {'deep': b'\x01\x02'}], 'text': 'plain'}
    assert client.emit('bin', top, nested, callback=True) == [top, nested]
    assert got == [(top, nested)]
    assert client.get_received() == [
        {'name': 'bin_back', 'args': [nested, top], 'namespace': '/'}]
    assert client.emit('only_bytes', b'', callback=True) == b''
    assert client.emit('only_bytes', [b'a', b'b', [b'c']],
                       callback=True) == [b'a', b'b', [b'c']]


def test_binary_from_server_outside_handlers():
    app, sio = make()
    client = sio.test_client(app)
    sio.emit('blob', {'data': b'\x10' * 1000})
    assert client.get_received() == [
        {'name': 'blob', 'args': [{'data': b'\x10' * 1000}],
         'namespace': '/'}]


# -- test client -------------------------------------------------------------

def test_get_received_per_namespace():
    app, sio = make(namespaces='*')

    @sio.on('go')
    def go():
        emit('e', 'root')
        emit('e', 'ns', namespace='/ns', broadcast=True)
        emit('f', 'root2')

    client = sio.test_client(app)
    client.connect('/ns')
    client.emit('go')
    assert client.get_received('/ns') == [
        {'name': 'e', 'args': ['ns'], 'namespace': '/ns'}]
    assert client.get_received('/ns') == []
    assert client.get_received() == [
        {'name': 'e', 'args': ['root'], 'namespace': '/'},
        {'name': 'f', 'args': ['root2'], 'namespace': '/'}]
    assert client.get_received() == []


def test_get_received_requires_connection():
    app, sio = make()
    client = sio.test_client(app)
    with pytest.raises(RuntimeError):
        client.get_received('/never')
    client.disconnect()
    with pytest.raises(RuntimeError):
        client.get_received()


def test_reconnect_after_server_side_disconnect():
    app, sio = make()

    @sio.on('kick')
    def kick():
        disconnect()

    @sio.on('ping')
    def ping():
        return 'pong'

    client = sio.test_client(app)
    client.emit('kick')
    assert not client.is_connected()
    client.connect()
    assert client.is_connected()
    assert client.emit('ping', callback=True) == 'pong'


def test_type_error_in_disconnect_handler_runs_it_once():
    # python-socketio takes a TypeError from a disconnect handler for a
    # legacy signature and calls it again without the reason
    app, sio = make()
    calls = []

    @sio.on('disconnect')
    def on_disconnect(reason):
        calls.append(reason)
        raise TypeError('handler bug')

    client = sio.test_client(app)
    with pytest.raises(TypeError, match='handler bug'):
        client.disconnect()
    assert calls == [SocketIO.reason.CLIENT_DISCONNECT]


@pytest.mark.parametrize('error_handler', [False, True])
def test_type_error_in_connect_handler_runs_it_once(error_handler):
    app, sio = make()
    calls = []

    @sio.on('connect')
    def on_connect():
        calls.append(1)
        raise TypeError('handler bug')

    if error_handler:
        @sio.on_error_default
        def reraise(exc):
            raise exc

    with pytest.raises(TypeError, match='handler bug'):
        sio.test_client(app)
    assert calls == [1]


def test_reconnect_after_disconnect():
    app, sio = make()
    connects = []

    @sio.on('connect')
    def on_connect():
        connects.append(request.sid)

    client = sio.test_client(app)
    client.disconnect()
    assert not client.is_connected()
    client.connect()
    assert client.is_connected()
    assert len(connects) == 2 and connects[0] != connects[1]


def test_test_client_refuses_message_queue():
    class FakeQueue(python_socketio.PubSubManager):
        name = 'fake'

        def _publish(self, data):
            pass

        def _listen(self):
            return iter(())

    app, sio = make(client_manager=FakeQueue(write_only=True))
    with pytest.raises(RuntimeError):
        sio.test_client(app)


def test_message_queue_url_selects_pubsub_manager():
    import redis  # noqa: F401  (a test dependency: fail, never skip)
    app, sio = make(message_queue='redis://127.0.0.1:1/0',
                    channel='my-channel')
    assert isinstance(sio.server.manager, python_socketio.RedisManager)
    assert sio.server.manager.channel == 'my-channel'
    assert sio.server.manager.write_only is False
    with pytest.raises(RuntimeError):
        sio.test_client(app)
    emitter = SocketIO(message_queue='redis://127.0.0.1:1/0')
    assert emitter.server.manager.write_only is True
    assert emitter.server.manager.channel == 'flask-socketio'


# -- background tasks and call() ----------------------------------------------

def test_background_task_emits_to_client():
    app, sio = make()
    add_sid_event(sio)
    started = []

    def ticker(sid, count):
        for i in range(count):
            sio.sleep(0.01)
            sio.emit('tick', i, to=sid)
        return 'done'

    @sio.on('start')
    def start(count):
        started.append(sio.start_background_task(ticker, request.sid,
                                                 count=count))

    client = sio.test_client(app)
    other = sio.test_client(app)
    client.emit('start', 3)
    started[0].join()
    assert client.get_received() == [
        {'name': 'tick', 'args': [i], 'namespace': '/'} for i in range(3)]
    assert other.get_received() == []


def test_start_background_task_outside_handlers():
    app, sio = make()
    client = sio.test_client(app)
    flag = threading.Event()

    def task(a, b=None):
        flag.set()
        sio.emit('sum', a + b)

    t0 = time.monotonic()
    sio.sleep(0.01)
    assert time.monotonic() - t0 >= 0.005
    sio.start_background_task(task, 1, b=2).join()
    assert flag.is_set()
    assert client.get_received() == [
        {'name': 'sum', 'args': [3], 'namespace': '/'}]


def test_call_to_test_client_raises_promptly():
    app, sio = make()
    outcome = []

    @sio.on('ask')
    def ask():
        try:
            flask_socketio.call('question', 1, timeout=5)
        except RuntimeError:
            outcome.append('raised')
            return 'raised'
        return 'answered'

    client = sio.test_client(app)
    t0 = time.monotonic()
    assert client.emit('ask', callback=True) == 'raised'
    with pytest.raises(RuntimeError):
        sio.call('question', to=_sid_of(sio, client), timeout=5)
    assert time.monotonic() - t0 < 3
    assert outcome == ['raised']
