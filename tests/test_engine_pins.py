"""The private details of python-socketio / python-engineio / Werkzeug that
flask_socketio relies on (see _engine.py).  If an upgrade moves one, these
fail first and say which, instead of the package misbehaving quietly."""
import inspect

import engineio
import socketio
import werkzeug.test
from engineio import socket as eio_socket

from flask_socketio._engine import FanOut, Server, with_fan_out


def _params(func):
    return list(inspect.signature(func).parameters)


def test_server_hooks_exist_with_expected_signatures():
    expected = {
        '_handle_eio_connect': ['self', 'eio_sid', 'environ'],
        '_handle_eio_message': ['self', 'eio_sid', 'data'],
        '_handle_eio_disconnect': ['self', 'eio_sid', 'reason'],
        '_handle_connect': ['self', 'eio_sid', 'namespace', 'data'],
        '_handle_disconnect': ['self', 'eio_sid', 'namespace', 'reason'],
        '_handle_event': ['self', 'eio_sid', 'namespace', 'id', 'data'],
        '_handle_event_internal': ['self', 'server', 'sid', 'eio_sid', 'data',
                                   'namespace', 'id'],
        '_handle_ack': ['self', 'eio_sid', 'namespace', 'id', 'data'],
        '_trigger_event': ['self', 'event', 'namespace', 'args'],
    }
    for name, params in expected.items():
        assert _params(getattr(socketio.Server, name)) == params, name


def test_server_state_the_subclass_touches():
    server = Server(async_mode='threading')
    assert isinstance(server._binary_packet, dict)
    assert isinstance(server.environ, dict)
    assert isinstance(server.eio.sockets, dict)
    assert server.eio.handlers['message'] == server._handle_eio_message


def test_engineio_socket_close_signature():
    assert _params(eio_socket.Socket.close) == ['self', 'wait', 'abort',
                                                'reason']
    assert _params(engineio.Server.disconnect)[:2] == ['self', 'sid']


def test_json_option_still_sets_a_packet_class_attribute():
    # Server gives each server its own packet subclass because
    # python-socketio would otherwise set `json` on the shared class
    class Marker:
        dumps = staticmethod(lambda *a, **k: '')
        loads = staticmethod(lambda *a, **k: None)
    server = Server(async_mode='threading', json=Marker)
    assert server.packet_class.json is Marker
    assert socketio.packet.Packet.json is not Marker
    assert engineio.packet.Packet.json is not Marker


def test_werkzeug_test_client_cookie_injection():
    assert hasattr(werkzeug.test.Client, '_add_cookies_to_wsgi')


def test_flask_request_context_session_slot():
    # sessions.py swaps the managed session into the request context of a
    # connection's first handler: Flask >= 3.1.3 keeps it in `_session`
    # behind a read-only property, older Flask in a plain `session`
    import flask
    from flask.ctx import RequestContext
    ctx = RequestContext(flask.Flask('pins'), {'REQUEST_METHOD': 'GET',
                                                'wsgi.url_scheme': 'http',
                                                'SERVER_NAME': 'x',
                                                'SERVER_PORT': '80'})
    assert hasattr(ctx, '_session') or not isinstance(
        getattr(type(ctx), 'session', None), property)


def test_send_eio_packet_hook_and_eventlet_task_handle():
    # _engine.Server copies binary Engine.IO packets per recipient in
    # _send_eio_packet; _EventletTask joins through engineio's `.g`
    assert _params(socketio.Server._send_eio_packet) == ['self', 'eio_sid',
                                                         'eio_pkt']
    source = inspect.getsource(socketio.manager.Manager.emit)
    assert '_send_eio_packet' in source
    # read, not imported: eventlet is not installed in the main environment
    import importlib.util
    origin = importlib.util.find_spec('engineio.async_drivers.eventlet').origin
    with open(origin) as f:
        assert 'self.g = spawn(' in f.read()


def test_fan_out_seams():
    # FanOut replaces socketio.Manager.emit (same signature) and queues on
    # engineio sockets directly, as engineio's send_packet does
    assert _params(FanOut.emit) == _params(socketio.Manager.emit)
    assert _params(eio_socket.Socket.send) == ['self', 'pkt']
    assert 'socket.send(pkt)' in inspect.getsource(engineio.Server.send_packet)
    # pub/sub managers hand local delivery to the next class's emit, which
    # with_fan_out makes FanOut's
    assert 'super().emit(' in inspect.getsource(socketio.PubSubManager.emit)
    assert 'super().emit(' in inspect.getsource(
        socketio.PubSubManager._handle_emit)
    for base in (socketio.RedisManager, socketio.KombuManager,
                 socketio.KafkaManager, socketio.ZmqManager):
        mro = with_fan_out(base).__mro__
        assert mro.index(socketio.PubSubManager) < mro.index(FanOut) \
            < mro.index(socketio.Manager)


def test_polling_post_seams():
    # _EngineIOServer reads polling POSTs itself, answering with
    # python-engineio's own responses and CORS headers, and hands each
    # packet to the session's socket as handle_post_request does
    assert _params(engineio.Server.handle_request) == ['self', 'environ',
                                                       'start_response']
    assert _params(engineio.Server._cors_allowed_origins) == ['self',
                                                              'environ']
    assert _params(engineio.Server._cors_headers) == ['self', 'environ']
    server = engineio.Server(async_mode='threading')
    ok, bad = server._ok(), server._bad_request()
    for response in (ok, bad):
        assert set(response) >= {'status', 'headers', 'response'}
    assert ok['status'].startswith('200') and bad['status'].startswith('400')
    assert _params(eio_socket.Socket.receive) == ['self', 'pkt']
    assert 'self.receive(pkt)' in inspect.getsource(
        eio_socket.Socket.handle_post_request)
    for attribute in ('connected', 'closed', 'upgraded'):
        assert hasattr(eio_socket.Socket(server, 'sid'), attribute)


def test_engineio_seams_of_the_session_class():
    # _EngineIOServer._handle_connect is python-engineio's, with the
    # session class replaced: the same signature, called the same way
    assert _params(engineio.Server._handle_connect) == [
        'self', 'environ', 'start_response', 'transport', 'jsonp_index']
    for name in ('_upgrades', '_generate_sid_cookie', '_service_task',
                 '_ok', '_bad_request', '_unauthorized', 'generate_id',
                 'get_queue_empty_exception'):
        assert callable(getattr(engineio.Server, name)), name
    server = engineio.Server(async_mode='threading')
    assert server.start_service_task is True
    assert isinstance(server.ping_interval_grace_period, (int, float))
    # _Session overrides these of python-engineio's socket and relies on
    # its polling queue and state flags
    for name, params in {
            'send': ['self', 'pkt'],
            'handle_get_request': ['self', 'environ', 'start_response'],
            'close': ['self', 'wait', 'abort', 'reason'],
            'schedule_ping': ['self'],
            'check_ping_timeout': ['self'],
            'poll': ['self']}.items():
        assert _params(getattr(eio_socket.Socket, name)) == params, name
    sock = eio_socket.Socket(server, 'sid')
    for flag in ('connected', 'upgrading', 'upgraded', 'closing', 'closed'):
        assert getattr(sock, flag) is False, flag
    assert sock.last_ping and hasattr(sock.queue, 'task_done')
    # _Session.ws_event calls the 'message' handler python-socketio
    # registers, from python-engineio's handlers dict
    sio = socketio.Server(async_mode='threading')
    assert sio.eio.handlers['message'] == sio._handle_eio_message


def test_flask_context_variables():
    # context.py reads the app and request contexts from Flask's context
    # variables, as flask.current_app and flask.request do
    import flask
    from flask.globals import _cv_app, _cv_request
    app = flask.Flask('pins')
    with app.test_request_context('/'):
        assert _cv_app.get().app is flask.current_app._get_current_object()
        assert _cv_request.get().request is flask.request._get_current_object()
    assert _cv_app.get(None) is None and _cv_request.get(None) is None


def test_flask_context_push_and_pop_are_ones_event_context_follows():
    # EventContext.pop repeats the steps of Flask's RequestContext.pop and
    # AppContext.pop, and of werkzeug's Request.close (all but those with
    # nothing to run), and EventContext.push those of RequestContext.push,
    # AppContext() and its push (but a signal nobody hears), for the
    # releases it knows, and leaves any other to them: a release that
    # changed one is found here, to be read and added to KNOWN
    import flask
    import werkzeug.wrappers
    from flask.ctx import AppContext, RequestContext
    from flask_socketio import sessions
    for function in (RequestContext.pop, AppContext.pop,
                     werkzeug.wrappers.Request.close, RequestContext.push,
                     AppContext.__init__, AppContext.push,
                     flask.Flask.app_context):
        assert sessions._digest(function) in sessions.KNOWN, function
    assert sessions._QUIET_POP and sessions._QUIET_APP_POP and \
        sessions._QUIET_CLOSE and sessions._QUIET_PUSH


def test_flask_request_context_fields_are_templatable():
    # sessions.ContextTemplate copies a handler context's fields from one
    # Flask built; on a Flask whose contexts hold a field of a kind it
    # does not know it builds every context in full (slow, still right):
    # this says so on upgrade
    import flask
    from flask.ctx import RequestContext
    from flask_socketio.sessions import ContextTemplate
    app = flask.Flask('pins')
    environ = {'REQUEST_METHOD': 'GET', 'wsgi.url_scheme': 'http',
               'SERVER_NAME': 'x', 'SERVER_PORT': '80', 'PATH_INFO': '/a',
               'QUERY_STRING': 'q=1', 'HTTP_HOST': 'x'}
    full = RequestContext(app, dict(environ))
    template = ContextTemplate.of(full)
    assert template is not None
    copied = template.context(None)
    # (and the template's word on Flask's steps: its own, as read here)
    assert vars(copied).keys() == vars(full).keys() | {'_plain'}
    assert vars(copied)['_plain'] is True
    for key, value in vars(full).items():
        if key != 'request':
            assert type(vars(copied)[key]) is type(value), key
    assert vars(copied.request).keys() == vars(full.request).keys()
    with copied:
        assert flask.request.args['q'] == '1'
        assert flask.request.host == 'x'


def test_admin_ui_seams():
    """The Admin UI counts packets by patching these python-engineio
    methods, which this package's POSTs and native WebSockets do not run;
    _engine reports to its event buffer and sends its ping refresh itself
    (tests/test_admin_ui.py checks the whole end to end)."""
    from socketio.admin import EventBuffer, InstrumentedServer
    for name in ('handle_post_request', '_websocket_handler', '_send_ping'):
        assert name in inspect.getsource(InstrumentedServer.instrument), name
    assert 'self.sio.eio._ok' in inspect.getsource(
        InstrumentedServer.instrument)
    assert _params(EventBuffer.push) == ['self', 'type', 'count']
    assert _params(InstrumentedServer.serialize_socket) == [
        'self', 'sid', 'namespace', 'eio_sid']
    ping = inspect.getsource(InstrumentedServer._eio_send_ping)
    assert "'socket_connected'" in ping and 'serialize_socket' in ping
    server = Server(async_mode='threading')
    admin = server.instrument(auth=False)
    try:
        assert server.eio.admin is admin
        assert isinstance(admin.event_buffer, EventBuffer)
        assert admin.mode == 'development'
        assert admin.admin_namespace == '/admin'
    finally:
        admin.uninstrument()


def test_python_socketio_event_steps_the_short_way_follows():
    # Server._event_text does what these do with a text EVENT from a
    # native WebSocket, for the releases whose sources it was checked
    # against; on any other it is off and python-socketio's path serves
    # (tests/test_event_path.py compares the two): a release that changed
    # one is found here, to be read and added to STEPS_KNOWN
    from flask_socketio import _engine
    from flask_socketio.sessions import _digest
    for name in _engine._STEPS:
        assert _digest(getattr(socketio.Server, name)) in \
            _engine.STEPS_KNOWN, name
    assert _engine._SHORT_WAY
    assert set(_engine._STEPS) <= _engine._SHORTENED


def test_python_socketio_emit_steps_the_emit_short_way_follows():
    # Server._emit_to_sender does what Server.emit does for a handler's
    # emit back to its sender (tests/test_event_path.py compares the two):
    # a release that changed it is found here, to be read and added to
    # EMIT_KNOWN
    from flask_socketio import _engine
    from flask_socketio.sessions import _digest
    assert _digest(socketio.Server.emit) in _engine.EMIT_KNOWN
    assert _engine._SHORT_EMIT
