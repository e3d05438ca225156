"""Every shape of handler Flask-SocketIO 5.7 calls is called here, with the
same arguments: plain functions with and without the optional argument
(a connect handler's ``auth``, a disconnect handler's ``reason``),
``*args`` wrappers with and without ``functools.wraps``, partials, callable
objects, bound methods, class-based ``Namespace`` methods, catch-alls, and
subclasses of ``SocketIO`` and ``Namespace`` that wrap what they register.

Each shape is registered on a namespace of its own, so one server serves
them all; they are driven through the test client and through a real
python-socketio client over 127.0.0.1.  The test-client half also runs
against stock Flask-SocketIO (``--noconftest`` from another directory);
what stock gets wrong says "Beyond stock".
"""
from __future__ import annotations

import functools
import logging

import flask
import pytest
from flask import request

from flask_socketio import Namespace, SocketIO, emit

from _live import TIMEOUT, ClientFactory, LiveServer
from conftest import wait_until

AUTH = {'token': 't'}


def _inner(record, takes):
    """The application's own handler: records the arguments it gets and
    tells the client it ran."""
    if takes:
        def handler(arg):
            record.append((request.namespace, arg))
            emit('ran', arg)
    else:
        def handler():
            record.append((request.namespace,))
            emit('ran')
    return handler


class _Callable:
    def __init__(self, inner):
        self.inner = inner


class _CallableWithout(_Callable):
    def __call__(self):
        return self.inner()


class _CallableWith(_Callable):
    def __call__(self, arg):
        return self.inner(arg)


class _Holder:
    def __init__(self, inner):
        self.inner = inner

    def without(self):
        return self.inner()

    def with_(self, arg):
        return self.inner(arg)


def _args_wrapper(inner):
    def wrapper(*args, **kwargs):  # a decorator without functools.wraps
        return inner(*args, **kwargs)
    return wrapper


def _wraps_wrapper(inner):
    @functools.wraps(inner)
    def wrapper(*args, **kwargs):
        return inner(*args, **kwargs)
    return wrapper


def _partial(inner, takes):
    if takes:
        def target(tag, arg):
            assert tag == 'bound'
            return inner(arg)
    else:
        def target(tag):
            assert tag == 'bound'
            return inner()
    return functools.partial(target, 'bound')


def _keyword_only(inner):
    def handler(*, auth=None):  # called without arguments, as by stock
        return inner()
    return handler


def _default(record):
    def handler(arg=None):
        record.append((request.namespace, arg))
        emit('ran', arg)
    return handler


# shape name -> (make(record) -> handler, whether it gets the argument)
SHAPES = {
    'function': (lambda r: _inner(r, False), False),
    'function-arg': (lambda r: _inner(r, True), True),
    'function-default': (_default, True),
    'lambda': (lambda r: (lambda: _inner(r, False)()), False),
    'keyword-only': (lambda r: _keyword_only(_inner(r, False)), False),
    'args-wrapper': (lambda r: _args_wrapper(_inner(r, False)), False),
    'args-wrapper-arg': (lambda r: _args_wrapper(_inner(r, True)), True),
    'wraps-wrapper': (lambda r: _wraps_wrapper(_inner(r, False)), False),
    'wraps-wrapper-arg': (lambda r: _wraps_wrapper(_inner(r, True)), True),
    'partial': (lambda r: _partial(_inner(r, False), False), False),
    'partial-arg': (lambda r: _partial(_inner(r, True), True), True),
    'callable': (lambda r: _CallableWithout(_inner(r, False)), False),
    'callable-arg': (lambda r: _CallableWith(_inner(r, True)), True),
    'method': (lambda r: _Holder(_inner(r, False)).without, False),
    'method-arg': (lambda r: _Holder(_inner(r, True)).with_, True),
}


class _NamespaceWithout(Namespace):
    def __init__(self, namespace, connects, disconnects):
        super().__init__(namespace)
        self.connects, self.disconnects = connects, disconnects

    def on_connect(self):
        self.connects.append((request.namespace,))
        emit('ran')

    def on_disconnect(self):
        self.disconnects.append((request.namespace,))


class _NamespaceWith(_NamespaceWithout):
    def on_connect(self, auth):
        self.connects.append((request.namespace, auth))
        emit('ran', auth)

    def on_disconnect(self, reason):
        self.disconnects.append((request.namespace, reason))


CLASS_SHAPES = {'class': (_NamespaceWithout, False),
                'class-arg': (_NamespaceWith, True)}


def _namespaces():
    return ['/' + name for name in [*SHAPES, *CLASS_SHAPES]]


def _takes(namespace):
    name = namespace[1:]
    return (SHAPES.get(name) or CLASS_SHAPES[name])[1]


def make_shapes_app(socketio_class=SocketIO):
    app = flask.Flask(__name__)
    app.config['SECRET_KEY'] = 'shapes'
    sio = socketio_class(app, async_mode='threading', ping_interval=1)
    connects, disconnects = [], []
    for name, (make, _) in SHAPES.items():
        sio.on('connect', namespace='/' + name)(make(connects))
        sio.on_event('disconnect', make(disconnects), namespace='/' + name)
    for name, (cls, _) in CLASS_SHAPES.items():
        sio.on_namespace(cls('/' + name, connects, disconnects))
    return app, sio, connects, disconnects


def _expected_connects(auth):
    return sorted((ns, auth) if _takes(ns) else (ns,)
                  for ns in _namespaces())


def test_connect_and_disconnect_handler_shapes_with_the_test_client():
    app, sio, connects, disconnects = make_shapes_app()
    client = None
    for namespace in _namespaces():
        if client is None:
            client = sio.test_client(app, namespace=namespace, auth=AUTH)
        else:
            client.connect(namespace, auth=AUTH)
        assert client.is_connected(namespace), namespace
        expected = [{'name': 'ran', 'args': [AUTH] if _takes(namespace)
                     else [], 'namespace': namespace}]
        assert client.get_received(namespace) == expected, namespace
    assert sorted(connects) == _expected_connects(AUTH)
    for namespace in _namespaces():
        client.disconnect(namespace)
    assert sorted(disconnects) == sorted(
        (ns, SocketIO.reason.CLIENT_DISCONNECT) if _takes(ns) else (ns,)
        for ns in _namespaces())


@pytest.fixture
def clients():
    factory = ClientFactory()
    yield factory
    factory.close_all()


def test_connect_and_disconnect_handler_shapes_over_a_real_connection(
        clients):
    app, sio, connects, disconnects = make_shapes_app()
    server = LiveServer(sio, app).start()
    try:
        client = clients(server.url, connect=False)
        ran = []
        for namespace in _namespaces():
            client.on('ran', functools.partial(
                lambda ns, *args: ran.append((ns, *args)), namespace),
                namespace=namespace)
        client.connect(server.url, transports=['websocket'],
                       namespaces=_namespaces(), auth=AUTH,
                       wait_timeout=TIMEOUT)
        assert wait_until(lambda: len(ran) == len(_namespaces()), TIMEOUT)
        assert sorted(connects) == _expected_connects(AUTH)
        assert sorted(ran) == _expected_connects(AUTH)
        assert all(client.get_sid(ns) for ns in _namespaces())
        client.disconnect()
        assert wait_until(lambda: len(disconnects) == len(_namespaces()),
                          TIMEOUT)
        # the client says goodbye on each namespace, then closes its
        # transport, which may overtake the last goodbyes
        reasons = (SocketIO.reason.CLIENT_DISCONNECT,
                   SocketIO.reason.TRANSPORT_CLOSE)
        assert sorted(d[0] for d in disconnects) == sorted(_namespaces())
        for record in disconnects:
            if _takes(record[0]):
                assert len(record) == 2 and record[1] in reasons, record
            else:
                assert len(record) == 1, record
    finally:
        server.stop()


# -- subclasses that wrap what they register ---------------------------------

class ValidatingSocketIO(SocketIO):
    """The pattern of extensions built on Flask-SocketIO: every handler
    wrapped in a plain ``*args`` wrapper, without ``functools.wraps``."""

    def on(self, message, namespace=None, **options):
        def decorator(handler):
            def wrapper(*args, **kwargs):
                if message not in ('connect', 'disconnect') and args and \
                        args[0] == 'invalid':
                    return 'rejected'
                self.seen.append(message)
                return handler(*args, **kwargs)
            return super(ValidatingSocketIO, self).on(
                message, namespace)(wrapper)
        return decorator

    seen: list


# a wrapper's signature cannot tell whether it takes auth or reason, so it
# is called as stock calls it: with the argument, and without once the inner
# handler's TypeError says it takes none
SEEN = ['connect', 'connect', 'echo', 'shout', 'add', 'disconnect',
        'disconnect']


def _validating_app():
    app = flask.Flask(__name__)
    sio = ValidatingSocketIO(app, async_mode='threading', ping_interval=1)
    sio.seen = []
    gone = []

    @sio.on('connect')
    def connect():
        emit('connected')

    @sio.on('disconnect')
    def disconnect():
        gone.append(request.sid)

    @sio.on('echo')
    def echo(data):
        return data

    @sio.event
    def shout(data):
        return data.upper()

    def add(a, b):
        return a + b
    sio.on_event('add', add)
    return app, sio, gone


def test_validating_socketio_subclass_with_the_test_client():
    app, sio, gone = _validating_app()
    client = sio.test_client(app)
    assert client.is_connected()
    assert client.get_received() == [
        {'name': 'connected', 'args': [], 'namespace': '/'}]
    assert client.emit('echo', 'hi', callback=True) == 'hi'
    assert client.emit('echo', 'invalid', callback=True) == 'rejected'
    assert client.emit('shout', 'hi', callback=True) == 'HI'
    assert client.emit('add', 2, 3, callback=True) == 5
    client.disconnect()
    assert len(gone) == 1
    assert sio.seen == SEEN


def test_validating_socketio_subclass_over_a_real_connection(clients):
    app, sio, gone = _validating_app()
    server = LiveServer(sio, app).start()
    try:
        client = clients(server.url, events=('connected',))
        client.received.wait_for('connected')
        assert client.call('echo', 'hi', timeout=TIMEOUT) == 'hi'
        assert client.call('echo', 'invalid', timeout=TIMEOUT) == 'rejected'
        assert client.call('shout', 'hi', timeout=TIMEOUT) == 'HI'
        assert client.call('add', (2, 3), timeout=TIMEOUT) == 5
        client.disconnect()
        assert wait_until(lambda: gone, TIMEOUT)
        assert sio.seen == SEEN
    finally:
        server.stop()


def test_subclass_overriding_on_event():
    calls = []

    class Counting(SocketIO):
        def on_event(self, message, handler, namespace=None):
            def counted(*args):
                calls.append(message)
                return handler(*args)
            return super().on_event(message, counted, namespace)

    app = flask.Flask(__name__)
    sio = Counting(app)

    def connect():
        emit('hello')
    sio.on_event('connect', connect)
    sio.on_event('twice', lambda x: 2 * x, namespace='/n')

    client = sio.test_client(app)
    client.connect('/n')
    assert client.get_received() == [
        {'name': 'hello', 'args': [], 'namespace': '/'}]
    assert client.emit('twice', 4, namespace='/n', callback=True) == 8
    assert calls == ['connect', 'connect', 'twice']  # see SEEN


def test_namespace_subclass_overriding_trigger_event():
    events = []

    class Audited(Namespace):
        def trigger_event(self, event, *args):
            events.append(event)
            return super().trigger_event(event, *args)

        def on_connect(self):
            emit('welcome')

        def on_disconnect(self):
            events.append('left')

        def on_double(self, x):
            return 2 * x

    app = flask.Flask(__name__)
    sio = SocketIO(app)
    sio.on_namespace(Audited('/audit'))
    client = sio.test_client(app, namespace='/audit')
    assert client.get_received('/audit') == [
        {'name': 'welcome', 'args': [], 'namespace': '/audit'}]
    assert client.emit('double', 21, namespace='/audit', callback=True) == 42
    client.disconnect('/audit')
    assert events == ['connect', 'double', 'disconnect', 'left']


# -- what stock does twice, and what it does not do -------------------------

def test_args_wrapper_around_a_connect_handler_raising_type_error():
    # its signature cannot tell whether it takes auth: called as stock calls
    # it, with auth and then without, and the second TypeError stands
    app = flask.Flask(__name__)
    sio = SocketIO(app)
    calls = []

    def connect(auth):
        calls.append(auth)
        raise TypeError('handler bug')

    sio.on('connect')(_args_wrapper(connect))
    with pytest.raises(TypeError):
        sio.test_client(app, auth=AUTH)
    assert calls == [AUTH]


def test_disconnect_handler_without_reason_and_an_error_handler():
    # Beyond stock: Flask-SocketIO 5.7 hands the TypeError of calling it
    # with the reason to the error handler, and never runs it
    app = flask.Flask(__name__)
    sio = SocketIO(app)
    gone, errors = [], []

    @sio.on('disconnect')
    def disconnect():
        gone.append(request.sid)

    @sio.on_error_default
    def on_error(exc):
        errors.append(exc)

    client = sio.test_client(app)
    client.disconnect()
    assert len(gone) == 1 and errors == []


# -- catch-alls -----------------------------------------------------------

def test_catch_all_class_based_namespace():
    # Beyond stock: Flask-SocketIO 5.7 takes the client's namespace for its
    # sid, so none of these methods is ever called
    app = flask.Flask(__name__)
    sio = SocketIO(app, namespaces='*')
    seen = []

    class Everywhere(Namespace):
        def on_connect(self, auth):
            seen.append(('connect', request.namespace, auth))

        def on_where(self, data):
            return [request.namespace, data]

        def on_disconnect(self, reason):
            seen.append(('disconnect', request.namespace, reason))

    sio.on_namespace(Everywhere('*'))
    client = sio.test_client(app, namespace='/a', auth=AUTH)
    client.connect('/b')
    assert client.emit('where', 1, namespace='/a', callback=True) == ['/a', 1]
    assert client.emit('where', 2, namespace='/b', callback=True) == ['/b', 2]
    client.disconnect('/b')
    assert seen == [('connect', '/a', AUTH), ('connect', '/b', None),
                    ('disconnect', '/b', SocketIO.reason.CLIENT_DISCONNECT)]


@pytest.mark.parametrize('shape', ['function', 'args-wrapper', 'partial',
                                   'callable'])
def test_catch_all_event_handler_shapes(shape):
    app = flask.Flask(__name__)
    sio = SocketIO(app)
    seen = []

    def any_event(event, *args):
        seen.append((event, args, request.namespace))
        return event

    handler = {'function': any_event,
               'args-wrapper': _args_wrapper(any_event),
               'partial': functools.partial(any_event),
               'callable': type('AnyEvent', (), {'__call__': lambda self, *a:
                                                 any_event(*a)})()}[shape]
    sio.on('*', namespace='/x')(handler)
    client = sio.test_client(app, namespace='/x')
    assert client.emit('ev', 1, 2, namespace='/x', callback=True) == 'ev'
    assert client.emit('none', namespace='/x', callback=True) == 'none'
    assert seen == [('ev', (1, 2), '/x'), ('none', (), '/x')]


def test_received_events_are_logged(caplog):
    app = flask.Flask(__name__)
    sio = SocketIO(app, logger=True)

    @sio.on('hello')
    def hello(data):
        return data

    client = sio.test_client(app)
    with caplog.at_level(logging.INFO, logger='socketio.server'):
        client.emit('hello', 'x', callback=True)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith('received event "hello" from ') and
               m.endswith(' [/]') for m in messages), messages
