"""Behaviour of Flask-SocketIO 5.7 an application or its tests can notice:
rooms with falsy names, ``namespace=None``, the test client's state and
attributes, the endpoint's path.

Like ``test_api.py``, the test-client tests here also run against stock
(``--noconftest`` from another directory); where stock's behaviour is a bug
kept fixed here, the test says "Beyond stock".
"""
from __future__ import annotations

import flask
import pytest
from flask import request

from flask_socketio import (Namespace, SocketIO, SocketIOTestClient,
                            close_room, emit, join_room, send)

from _live import TIMEOUT, ClientFactory, LiveServer

FALSY_ROOMS = [0, '']


def make(**options):
    app = flask.Flask(__name__)
    app.config['SECRET_KEY'] = 'parity'
    return app, SocketIO(app, **options)


def add_room_events(sio, namespace=None):
    @sio.on('join', namespace=namespace)
    def join(room):
        join_room(room)

    @sio.on('emit-to', namespace=namespace)
    def emit_to(room):
        emit('to-room', 'emit', to=room)

    @sio.on('emit-room', namespace=namespace)
    def emit_room(room):
        emit('to-room', 'room=', room=room)

    @sio.on('send-to', namespace=namespace)
    def send_to(room):
        send('send', to=room)

    @sio.on('server-emit', namespace=namespace)
    def server_emit(room):
        sio.emit('to-room', 'socketio.emit', to=room,
                 namespace=request.namespace)

    @sio.on('close', namespace=namespace)
    def close(room):
        close_room(room)


# -- rooms named 0 or '' ------------------------------------------------------

@pytest.mark.parametrize('room', FALSY_ROOMS)
def test_falsy_room_reaches_its_members_only(room):
    # Beyond stock: Flask-SocketIO 5.7 takes to=0 in a handler for "no
    # room" and replies to the sender alone, and broadcasts socketio.emit's
    # to the whole namespace
    app, sio = make()
    add_room_events(sio)
    member, other_member, outsider = (sio.test_client(app) for _ in range(3))
    member.emit('join', room)
    other_member.emit('join', room)
    outsider.emit('join', 'elsewhere')
    for event, expected in [('emit-to', ('to-room', ['emit'])),
                            ('emit-room', ('to-room', ['room='])),
                            ('send-to', ('message', 'send')),
                            ('server-emit', ('to-room', ['socketio.emit']))]:
        outsider.emit(event, room)
        for client in (member, other_member):
            assert [(r['name'], r['args']) for r in client.get_received()] \
                == [expected], (event, client)
        assert outsider.get_received() == [], event

    sio.emit('to-room', 'outside', to=room)
    sio.send('outside', to=room)
    assert [r['name'] for r in member.get_received()] == \
        ['to-room', 'message']
    assert outsider.get_received() == []

    outsider.emit('close', room)
    outsider.emit('emit-to', room)
    assert member.get_received() == [] and outsider.get_received() == []


@pytest.mark.parametrize('room', FALSY_ROOMS)
def test_falsy_room_in_a_class_based_namespace(room):
    # Beyond stock: Flask-SocketIO 5.7 broadcasts to the whole namespace
    app, sio = make()

    class Rooms(Namespace):
        def on_join(self, data):
            join_room(data)

        def on_shout(self, data):
            self.emit('shouted', data, room=room)

    sio.on_namespace(Rooms('/r'))
    member = sio.test_client(app, namespace='/r')
    outsider = sio.test_client(app, namespace='/r')
    member.emit('join', room, namespace='/r')
    outsider.emit('shout', 'hi', namespace='/r')
    assert member.get_received('/r') == [
        {'name': 'shouted', 'args': ['hi'], 'namespace': '/r'}]
    assert outsider.get_received('/r') == []


@pytest.fixture
def clients():
    factory = ClientFactory()
    yield factory
    factory.close_all()


def _falsy_room_over_real_connections(sio, app, clients, room):
    add_room_events(sio)
    server = LiveServer(sio, app).start()
    try:
        member, outsider = (clients(server.url, events=('to-room',))
                            for _ in range(2))
        assert member.call('join', room, timeout=TIMEOUT) is None
        outsider.call('emit-to', room, timeout=TIMEOUT)
        member.received.wait_for('to-room')
        # the outsider's barrier: the room's emit went out before this one
        sio.emit('to-room', 'barrier', to=outsider.get_sid())
        outsider.received.wait_for('to-room')
        assert member.received.of('to-room') == [('emit',)]
        assert outsider.received.of('to-room') == [('barrier',)]
    finally:
        server.stop()


@pytest.mark.parametrize('room', FALSY_ROOMS)
def test_falsy_room_over_real_connections(clients, room):
    app, sio = make(async_mode='threading', ping_interval=1)
    _falsy_room_over_real_connections(sio, app, clients, room)


@pytest.mark.parametrize('room', FALSY_ROOMS)
def test_falsy_room_through_a_redis_queue(clients, redis_url, room):
    import uuid
    app, sio = make(async_mode='threading', ping_interval=1,
                    message_queue=redis_url,
                    channel='parity-' + uuid.uuid4().hex)
    _falsy_room_over_real_connections(sio, app, clients, room)


# -- namespace=None -----------------------------------------------------------

def test_explicit_namespace_none_in_a_handler_means_the_default_namespace():
    app, sio = make()

    @sio.on('go', namespace='/chat')
    def go():
        # (a reply to the sender would find its /chat sid absent from /)
        emit('emitted', namespace=None, broadcast=True)
        send('sent', namespace=None, broadcast=True)
        emit('here')

    client = sio.test_client(app, namespace='/chat')
    client.connect('/')
    client.emit('go', namespace='/chat')
    assert [r['name'] for r in client.get_received('/')] == ['emitted',
                                                             'message']
    assert [r['name'] for r in client.get_received('/chat')] == ['here']


# -- the test client ----------------------------------------------------------

def test_connecting_again_to_a_connected_namespace_stays_connected():
    app, sio = make()
    connects = []

    @sio.on('connect')
    def on_connect():
        connects.append(request.sid)

    @sio.on('ping')
    def ping():
        return 'pong'

    client = sio.test_client(app)
    client.connect()
    assert client.is_connected()
    assert len(connects) == 1
    assert client.emit('ping', callback=True) == 'pong'


def test_refused_connection_reports_disconnected():
    app, sio = make()

    @sio.on('connect', namespace='/closed')
    def on_connect():
        return False

    client = sio.test_client(app)
    client.connect('/closed')
    assert not client.is_connected('/closed')
    assert client.is_connected()


def test_clients_registry_and_acks_attribute():
    app, sio = make()

    @sio.on('answer')
    def answer(*args):
        return 42, 'x'

    client = sio.test_client(app)
    assert SocketIOTestClient.clients[client.eio_sid] is client
    assert client.acks is None
    assert client.emit('answer', callback=True) == [42, 'x']
    assert client.acks is None  # emit took it
    other = sio.test_client(app)
    assert SocketIOTestClient.clients[other.eio_sid] is other
    assert SocketIOTestClient.clients[client.eio_sid] is client


# -- the endpoint's path ------------------------------------------------------

def test_path_slash_mounts_at_the_root():
    app, sio = make(path='/')
    http = app.test_client()
    r = http.get('/?EIO=4&transport=polling')
    assert r.status_code == 200 and b'"sid"' in r.data


def test_second_init_app_keeps_the_path():
    # Beyond stock: Flask-SocketIO 5.7 forgets the constructor's path (and
    # channel) on a second init_app and serves /socket.io/ instead
    sio = SocketIO(path='/ws')
    for _ in range(2):
        app = flask.Flask(__name__)
        sio.init_app(app)
        http = app.test_client()
        assert http.get('/ws/?EIO=4&transport=polling').status_code == 200
        assert http.get('/socket.io/?EIO=4&transport=polling').status_code \
            == 404


# -- refusals -----------------------------------------------------------------

def test_refusals_refuse_whatever_error_handlers_exist():
    # Beyond stock: Flask-SocketIO 5.7 hands the builtin ConnectionRefusedError
    # to on_error_default, and python-socketio's to a Namespace's error(),
    # and in both cases lets the client connect
    import flask_socketio
    app, sio = make()
    errors = []

    @sio.on('connect')
    def builtin_refusal():
        raise ConnectionRefusedError('no')

    @sio.on_error_default
    def on_error(exc):
        errors.append(exc)

    class Guarded(Namespace):
        def on_connect(self):
            raise flask_socketio.ConnectionRefusedError('not here')

        def error(self, exc):
            errors.append(exc)

    sio.on_namespace(Guarded('/guarded'))
    client = sio.test_client(app)
    assert not client.is_connected()
    client.connect('/guarded')
    assert not client.is_connected('/guarded')
    assert errors == []
