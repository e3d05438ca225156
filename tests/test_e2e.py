"""End to end: ``socketio.run()`` serving real python-socketio clients over
127.0.0.1 (websocket only, polling only, polling upgraded to websocket)."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio as sio_lib
from flask import Flask, request, session

from flask_socketio import (ConnectionRefusedError, Namespace, SocketIO,
                            call, disconnect, emit, join_room, leave_room,
                            rooms)

from flask_socketio._engine import FanOut

from _live import TIMEOUT, ClientFactory, LiveServer, Recorder
from conftest import free_port, wait_for_port, wait_until

TRANSPORTS = {
    'websocket': ['websocket'],
    'polling': ['polling'],
    'upgrade': None,  # python-socketio's default: polling, then websocket
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.connected = {}       # sid -> auth
        self.disconnects = []     # (sid, reason)
        self.callbacks = []       # server-side ack callback arguments
        self.release = threading.Event()
        self.slow_started = threading.Event()
        self.order = []           # (n, 'start'|'end', time)


def make_app(state: State, **options):
    app = Flask(__name__)
    app.config['SECRET_KEY'] = 'e2e'
    # a short ping interval ends pending long-polls (and so client
    # teardown) quickly, and exercises ping/pong during the tests
    options.setdefault('ping_interval', 1)
    socketio = SocketIO(app, async_mode='threading', **options)

    @socketio.on('connect')
    def on_connect(auth):
        if auth and auth.get('token') == 'bad':
            raise ConnectionRefusedError('bad token', {'code': 403})
        if auth and auth.get('token') == 'false':
            return False
        with state.lock:
            state.connected[request.sid] = auth
        if auth and 'user' in auth:
            session['user'] = auth['user']

    @socketio.on('disconnect')
    def on_disconnect(reason):
        with state.lock:
            state.disconnects.append((request.sid, reason))

    @socketio.on('whoami')
    def whoami():
        return {'sid': request.sid, 'namespace': request.namespace,
                'user': session.get('user'),
                'transport': socketio.server.transport(request.sid)}

    @socketio.on('echo')
    def echo(*args):
        emit('echoed', list(args))
        return args

    @socketio.on('set')
    def set_value(key, value):
        session[key] = value
        return 'ok'

    @socketio.on('get')
    def get_value(key):
        return session.get(key)

    @socketio.on('join')
    def join(room):
        join_room(room)
        return sorted(rooms())

    @socketio.on('leave')
    def leave(room):
        leave_room(room)
        return sorted(rooms())

    @socketio.on('to_room')
    def to_room(room, message):
        emit('room_message', {'room': room, 'message': message}, to=room)

    @socketio.on('to_all')
    def to_all(message):
        emit('all_message', message, broadcast=True, include_self=False)

    @socketio.on('binary')
    def binary(data):
        emit('binary_back', {'blob': data['blob'][::-1], 'n': data['n']})
        return data['blob'] + b'\xff', len(data['blob'])

    @socketio.on('ask_client')
    def ask_client(question):
        # server -> client call, answered by the client's own handler
        answer = call('question', question, timeout=5)
        return {'client_said': answer}

    @socketio.on('emit_with_callback')
    def emit_with_callback(value):
        def cb(*args):
            with state.lock:
                state.callbacks.append((request.sid, list(args)))
        emit('needs_ack', value, callback=cb)

    @socketio.on('kick_me')
    def kick_me():
        disconnect()

    @socketio.on('slow')
    def slow():
        state.slow_started.set()
        released = state.release.wait(TIMEOUT)
        return 'slow done' if released else 'slow timed out'

    @socketio.on('fast')
    def fast():
        return 'fast done'

    @socketio.on('work')
    def work(n, delay):
        with state.lock:
            state.order.append((n, 'start', time.monotonic()))
        time.sleep(delay)
        with state.lock:
            state.order.append((n, 'end', time.monotonic()))
        return n

    @socketio.on('stop_server')
    def stop_server():
        socketio.stop()
        return 'stopping'

    @socketio.on('hello', namespace='/chat')
    def chat_hello(name):
        return {'namespace': request.namespace, 'sid': request.sid,
                'greeting': f'hi {name}'}

    @socketio.on('connect', namespace='/private')
    def private_connect(auth):
        raise ConnectionRefusedError('private namespace')

    class Numbers(Namespace):
        def on_add(self, a, b):
            self.emit('sum', a + b, room=request.sid)
            return a + b

    socketio.on_namespace(Numbers('/numbers'))

    @app.route('/notify')
    def notify():
        room = request.args.get('room')
        socketio.emit('notice', {'text': request.args['text']}, to=room)
        return 'sent'

    @app.route('/kick/<sid>')
    def kick(sid):
        socketio.server.disconnect(sid)
        return 'kicked'

    @app.route('/call/<sid>')
    def call_client(sid):
        try:
            answer = socketio.call('question', request.args['q'], to=sid,
                                   timeout=float(request.args.get('t', 5)))
        except sio_lib.exceptions.TimeoutError:
            return {'timeout': True}
        return {'answer': answer}

    @app.route('/callback/<sid>')
    def callback_client(sid):
        def cb(*args):
            with state.lock:
                state.callbacks.append(('http', list(args)))
        socketio.emit('needs_ack', request.args['v'], to=sid, callback=cb)
        return 'sent'

    @app.route('/stop')
    def stop_route():
        socketio.stop()
        return 'stopping'

    return app, socketio


@pytest.fixture(scope='module')
def server():
    state = State()
    app, socketio = make_app(state)
    live = LiveServer(socketio, app).start()
    live.state = state
    yield live
    live.stop()  # socketio.stop(); asserts run() returned


@pytest.fixture
def clients():
    factory = ClientFactory()
    yield factory
    factory.close_all()


def answer_questions(client, prefix='answer to '):
    @client.on('question')
    def question(q):
        return prefix + q


# -- connection, transports, auth --------------------------------------------

@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_connect_with_auth_and_sid(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport],
                     auth={'user': 'ada'})
    sid = client.get_sid()
    assert sid
    assert wait_until(lambda: sid in server.state.connected, TIMEOUT)
    assert server.state.connected[sid] == {'user': 'ada'}
    info = client.call('whoami', timeout=TIMEOUT)
    assert info['sid'] == sid
    assert info['namespace'] == '/'
    assert info['user'] == 'ada'  # session seeded at connect, kept after
    if transport == 'upgrade':
        assert wait_until(lambda: client.transport() == 'websocket', TIMEOUT)
        assert wait_until(lambda: client.call(
            'whoami', timeout=TIMEOUT)['transport'] == 'websocket', TIMEOUT)
    else:
        assert client.transport() == TRANSPORTS[transport][0]
        assert info['transport'] == TRANSPORTS[transport][0]


def test_default_client_upgrades_to_websocket(server, clients):
    client = clients(server.url)
    assert wait_until(lambda: client.transport() == 'websocket', TIMEOUT)
    # traffic still flows after the upgrade
    assert client.call('echo', 'after upgrade', timeout=TIMEOUT) == \
        'after upgrade'


@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_emit_and_ack_client_to_server(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport],
                     events=['echoed'])
    acked = Recorder()
    client.emit('echo', (1, 'two', {'three': [3]}),
                callback=lambda *a: acked.add('ack', *a))
    assert acked.wait_for('ack')[0] == (1, 'two', {'three': [3]})
    assert client.received.wait_for('echoed')[0] == ([1, 'two',
                                                      {'three': [3]}],)
    assert client.call('echo', 'single', timeout=TIMEOUT) == 'single'


@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_server_call_answered_by_client(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport])
    answer_questions(client)
    # call() inside a Socket.IO handler, to the sender
    assert client.call('ask_client', 'q1', timeout=TIMEOUT) == \
        {'client_said': 'answer to q1'}
    # socketio.call() from an HTTP route, to a given sid
    r = requests.get(f'{server.url}/call/{client.get_sid()}',
                     params={'q': 'q2'}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {'answer': 'answer to q2'}


def test_server_call_times_out_when_client_answers_late(server, clients):
    client = clients(server.url, transports=['websocket'])

    @client.on('question')
    def late(q):
        time.sleep(1.5)
        return 'late'

    started = time.monotonic()
    r = requests.get(f'{server.url}/call/{client.get_sid()}',
                     params={'q': 'x', 't': '0.5'}, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json() == {'timeout': True}
    assert time.monotonic() - started < 1.4
    # the connection is still fine once the late answer has arrived
    assert client.call('echo', 'still here', timeout=TIMEOUT) == 'still here'


@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_server_emit_with_callback(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport])

    @client.on('needs_ack')
    def needs_ack(value):
        return value, 'acked'

    sid = client.get_sid()
    client.emit('emit_with_callback', 'from-handler')
    assert wait_until(lambda: (sid, ['from-handler', 'acked'])
                      in server.state.callbacks, TIMEOUT)
    r = requests.get(f'{server.url}/callback/{sid}', params={'v': 'from-http'},
                     timeout=TIMEOUT)
    assert r.status_code == 200
    assert wait_until(lambda: ('http', ['from-http', 'acked'])
                      in server.state.callbacks, TIMEOUT)


# -- rooms and broadcast -------------------------------------------------------

def test_rooms_and_broadcast_across_mixed_transports(server, clients):
    events = ['room_message', 'all_message', 'notice']
    ws = clients(server.url, transports=['websocket'], events=events)
    poll = clients(server.url, transports=['polling'], events=events)
    upg = clients(server.url, events=events)
    outsider = clients(server.url, transports=['polling'], events=events)
    assert wait_until(lambda: upg.transport() == 'websocket', TIMEOUT)
    members = [ws, poll, upg]
    for c in members:
        assert c.call('join', 'lobby', timeout=TIMEOUT) == \
            sorted([c.get_sid(), 'lobby'])

    poll.emit('to_room', ('lobby', 'hello room'))
    for c in members:
        assert c.received.wait_for('room_message') == \
            [({'room': 'lobby', 'message': 'hello room'},)]
    # broadcast without the sender reaches everyone else, outsider included
    ws.emit('to_all', 'hello all')
    for c in (poll, upg, outsider):
        assert c.received.wait_for('all_message') == [('hello all',)]
    # a room emit from an HTTP route
    r = requests.get(f'{server.url}/notify',
                     params={'room': 'lobby', 'text': 'room notice'},
                     timeout=TIMEOUT)
    assert r.status_code == 200 and r.text == 'sent'
    for c in members:
        assert c.received.wait_for('notice') == [({'text': 'room notice'},)]

    # leaving the room stops delivery
    assert upg.call('leave', 'lobby', timeout=TIMEOUT) == [upg.get_sid()]
    outsider.emit('to_room', ('lobby', 'second'))
    for c in (ws, poll):
        assert c.received.wait_for('room_message', 2)[1] == \
            ({'room': 'lobby', 'message': 'second'},)
    # by now everything sent before has arrived: check what must not have
    time.sleep(0.2)
    assert len(outsider.received.of('room_message')) == 0
    assert len(outsider.received.of('notice')) == 0
    assert len(upg.received.of('room_message')) == 1
    assert ws.received.of('all_message') == []  # include_self=False


@pytest.mark.parametrize('manager', ['fan_out', 'stock'])
def test_binary_broadcast_reaches_websocket_and_polling_clients(clients,
                                                                manager):
    """One broadcast, encoded once, with a binary attachment framed as raw
    bytes for WebSocket clients and base64 text for polling clients: through
    the compiled core's fan-out (the default) and through python-socketio's
    own client manager given as ``client_manager=``."""
    options = {} if manager == 'fan_out' else {
        'client_manager': sio_lib.Manager()}
    app, socketio = make_app(State(), **options)
    assert isinstance(socketio.server.manager, FanOut) == \
        (manager == 'fan_out')
    live = LiveServer(socketio, app).start()
    try:
        events = ['all_message']
        receivers = [clients(live.url, transports=t, events=events)
                     for t in (['websocket'], ['polling'], ['websocket'],
                               ['polling'])]
        sender = clients(live.url, transports=['websocket'], events=events)
        # which transport encodes a shared packet first is a race between
        # their writer threads: a few rounds see both orders (few enough
        # for one polling response: python-engineio's client decodes at
        # most 16 packets from one)
        messages = [{'blob': bytes(range(256)) * 4, 'n': i} for i in range(6)]
        for message in messages:
            # one at a time: the server handles each event in a thread of
            # its own, so emits sent together may be broadcast in any order
            sender.call('to_all', message, timeout=TIMEOUT)
        for c in receivers:
            assert c.received.wait_for('all_message', len(messages)) == \
                [(m,) for m in messages]
        assert sender.received.of('all_message') == []
    finally:
        clients.close_all()
        live.stop()


def test_app_context_signals_connected_later_are_sent(clients):
    # over a real connection each event pushes an app context of its own,
    # without the signal when nobody hears it; with nothing to tear down
    # it is popped without Flask's teardown, yet receivers connected later
    # are called
    import flask
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode='threading')
    calls = []

    @socketio.on('ev')
    def ev(parse):
        calls.append(('handler', request.files.to_dict() if parse else None))

    def tearing_down(sender, exc=None, **kwargs):
        calls.append('appcontext_tearing_down')

    def popped(sender, **kwargs):
        calls.append('appcontext_popped')

    def pushed(sender, **kwargs):
        calls.append(('appcontext_pushed', flask.g.get('mark', 'fresh')))
        flask.g.mark = 'set'

    live = LiveServer(socketio, app).start()
    try:
        client = clients(live.url, transports=['websocket'])
        client.call('ev', False, timeout=TIMEOUT)
        for signal, receiver in ((flask.appcontext_tearing_down,
                                  tearing_down),
                                 (flask.appcontext_popped, popped),
                                 (flask.appcontext_pushed, pushed)):
            signal.connect(receiver)  # any sender: disconnect drops it
            try:
                client.call('ev', False, timeout=TIMEOUT)
            finally:
                signal.disconnect(receiver)
        client.call('ev', True, timeout=TIMEOUT)
        assert calls == [('handler', None),
                         ('handler', None), 'appcontext_tearing_down',
                         ('handler', None), 'appcontext_popped',
                         ('appcontext_pushed', 'fresh'), ('handler', None),
                         ('handler', {})]
    finally:
        clients.close_all()
        live.stop()


def test_emit_from_http_route_reaches_all_clients(server, clients):
    a = clients(server.url, transports=['websocket'], events=['notice'])
    b = clients(server.url, transports=['polling'], events=['notice'])
    r = requests.get(f'{server.url}/notify', params={'text': 'to everyone'},
                     timeout=TIMEOUT)
    assert r.status_code == 200
    for c in (a, b):
        assert ({'text': 'to everyone'},) in c.received.wait_for('notice')


# -- payloads, namespaces ----------------------------------------------------------

@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_binary_payloads(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport],
                     events=['binary_back'])
    blob = bytes(range(256)) * 4
    ack = client.call('binary', {'blob': blob, 'n': 7}, timeout=TIMEOUT)
    assert tuple(ack) == (blob + b'\xff', len(blob))
    back = client.received.wait_for('binary_back')[0][0]
    assert back == {'blob': blob[::-1], 'n': 7}
    assert isinstance(back['blob'], bytes)


@pytest.mark.parametrize('transport', ['websocket', 'polling'])
def test_several_namespaces(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport],
                     namespaces=['/', '/chat', '/numbers'])
    sums = Recorder()
    client.on('sum', lambda v: sums.add('sum', v), namespace='/numbers')
    chat = client.call('hello', 'bob', namespace='/chat', timeout=TIMEOUT)
    assert chat == {'namespace': '/chat', 'sid': client.get_sid('/chat'),
                    'greeting': 'hi bob'}
    assert client.get_sid('/chat') != client.get_sid('/')
    assert client.call('add', (2, 3), namespace='/numbers',
                       timeout=TIMEOUT) == 5
    assert sums.wait_for('sum') == [(5,)]
    assert client.call('whoami', timeout=TIMEOUT)['namespace'] == '/'


# -- refusals and disconnects -----------------------------------------------------------

@pytest.mark.parametrize('transport', ['websocket', 'polling'])
def test_connect_refused_with_data(server, clients, transport):
    client = clients(server.url, connect=False)
    errors = Recorder()
    client.on('connect_error', lambda data: errors.add('error', data))
    with pytest.raises(sio_lib.exceptions.ConnectionError):
        client.connect(server.url, transports=TRANSPORTS[transport],
                       auth={'token': 'bad'}, wait_timeout=TIMEOUT)
    assert errors.wait_for('error')[0] == (
        {'message': 'bad token', 'data': {'code': 403}},)
    assert not client.connected


def test_connect_refused_by_returning_false(server, clients):
    client = clients(server.url, connect=False)
    errors = Recorder()
    client.on('connect_error', lambda data: errors.add('error', data))
    with pytest.raises(sio_lib.exceptions.ConnectionError):
        client.connect(server.url, transports=['websocket'],
                       auth={'token': 'false'}, wait_timeout=TIMEOUT)
    assert errors.wait_for('error')
    assert not client.connected


def test_namespace_refused_others_fine(server, clients):
    client = clients(server.url, connect=False)
    errors = Recorder()
    client.on('connect_error', lambda data: errors.add('error', data),
              namespace='/private')
    with pytest.raises(sio_lib.exceptions.ConnectionError) as info:
        client.connect(server.url, transports=['websocket'],
                       namespaces=['/', '/private'], wait_timeout=TIMEOUT)
    assert '/private' in str(info.value)
    assert errors.wait_for('error')[0] == ({'message': 'private namespace'},)


@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_server_side_disconnect(server, clients, transport):
    client = clients(server.url, transports=TRANSPORTS[transport])
    gone = Recorder()
    client.on('disconnect', lambda *reason: gone.add('gone', *reason))
    sid = client.get_sid()
    client.emit('kick_me')
    assert gone.wait_for('gone')
    assert wait_until(lambda: not client.connected, TIMEOUT)
    assert wait_until(lambda: (sid, SocketIO.reason.SERVER_DISCONNECT)
                      in server.state.disconnects, TIMEOUT)

    # kicked from an HTTP route
    other = clients(server.url, transports=TRANSPORTS[transport])
    other_gone = Recorder()
    other.on('disconnect', lambda *reason: other_gone.add('gone', *reason))
    r = requests.get(f'{server.url}/kick/{other.get_sid()}', timeout=TIMEOUT)
    assert r.status_code == 200
    assert other_gone.wait_for('gone')
    assert wait_until(lambda: not other.connected, TIMEOUT)


def test_client_disconnect_reported_to_server(server, clients):
    client = clients(server.url, transports=['websocket'])
    sid = client.get_sid()
    client.disconnect()
    # python-socketio's client sometimes closes the websocket before its
    # DISCONNECT packet is written: either reason is a client disconnect
    assert wait_until(lambda: any(
        s == sid and r in (SocketIO.reason.CLIENT_DISCONNECT,
                           SocketIO.reason.TRANSPORT_CLOSE)
        for s, r in server.state.disconnects), TIMEOUT)


# -- sessions ------------------------------------------------------------------------

@pytest.mark.parametrize('transport', list(TRANSPORTS))
def test_managed_session_across_events(server, clients, transport):
    a = clients(server.url, transports=TRANSPORTS[transport],
                auth={'user': 'alice'})
    b = clients(server.url, transports=['websocket'], auth={'user': 'bob'})
    assert a.call('set', ('colour', 'blue'), timeout=TIMEOUT) == 'ok'
    assert a.call('get', 'colour', timeout=TIMEOUT) == 'blue'
    assert a.call('whoami', timeout=TIMEOUT)['user'] == 'alice'
    # sessions are per connection
    assert b.call('get', 'colour', timeout=TIMEOUT) is None
    assert b.call('whoami', timeout=TIMEOUT)['user'] == 'bob'
    assert a.call('set', ('colour', 'red'), timeout=TIMEOUT) == 'ok'
    assert a.call('get', 'colour', timeout=TIMEOUT) == 'red'


# -- custom path -------------------------------------------------------------------

def test_custom_path(clients):
    state = State()
    app, socketio = make_app(state, path='/custom/io/')
    live = LiveServer(socketio, app).start()
    try:
        for transports in (['websocket'], ['polling'], None):
            c = clients(live.url, transports=transports,
                        socketio_path='custom/io')
            assert c.call('echo', 'custom', timeout=TIMEOUT) == 'custom'
            assert c.call('whoami', timeout=TIMEOUT)['sid'] == c.get_sid()
        # the default endpoint is not served by Socket.IO any more
        r = requests.get(f'{live.url}/socket.io/?EIO=4&transport=polling',
                         timeout=TIMEOUT)
        assert r.status_code == 404
        r = requests.get(f'{live.url}/custom/io/?EIO=4&transport=polling',
                         timeout=TIMEOUT)
        assert r.status_code == 200 and r.text.startswith('0{')
        with pytest.raises(sio_lib.exceptions.ConnectionError):
            clients(live.url, transports=['polling'])
    finally:
        clients.close_all()
        live.stop()


# -- async_handlers ------------------------------------------------------------------

def test_async_handlers_default_slow_handler_blocks_nobody(server, clients):
    state = server.state
    state.release.clear()
    state.slow_started.clear()
    slow_client = clients(server.url, transports=['websocket'])
    other = clients(server.url, transports=['polling'])
    slow_ack = Recorder()
    slow_client.emit('slow', callback=lambda *a: slow_ack.add('ack', *a))
    try:
        assert state.slow_started.wait(TIMEOUT)
        # while the slow handler is blocked, another client is served...
        assert other.call('fast', timeout=5) == 'fast done'
        # ...and so is the slow client's own next event
        assert slow_client.call('fast', timeout=5) == 'fast done'
        assert slow_ack.of('ack') == []
    finally:
        state.release.set()
    assert slow_ack.wait_for('ack') == [('slow done',)]


def test_async_handlers_true_runs_one_clients_events_concurrently(server,
                                                                   clients):
    # the counterpart of the async_handlers=False test below: the same
    # sequence, where the short second event finishes before the first
    server.state.order.clear()
    client = clients(server.url, transports=['websocket'])
    acks = Recorder()
    client.emit('work', (0, 0.8), callback=lambda n: acks.add('ack', n))
    time.sleep(0.1)
    client.emit('work', (1, 0), callback=lambda n: acks.add('ack', n))
    acks.wait_for('ack', 2)
    assert [a[0] for a in acks.of('ack')] == [1, 0]


@pytest.mark.parametrize('transport', ['websocket', 'polling'])
def test_async_handlers_false_handles_in_order(clients, transport):
    state = State()
    app, socketio = make_app(state, async_handlers=False)
    live = LiveServer(socketio, app).start()
    try:
        client = clients(live.url, transports=[transport])
        other = clients(live.url, transports=['websocket'])
        acks = Recorder()
        delays = [0.5, 0, 0.2, 0]
        for n, delay in enumerate(delays):
            client.emit('work', (n, delay),
                        callback=lambda n: acks.add('ack', n))
        # another connection is not held up by this client's queue
        assert other.call('fast', timeout=5) == 'fast done'
        acks.wait_for('ack', len(delays))
        assert [a[0] for a in acks.of('ack')] == [0, 1, 2, 3]
        marks = [(n, what) for n, what, _ in state.order
                 if n in range(len(delays))]
        assert marks == [(n, what) for n in range(len(delays))
                         for what in ('start', 'end')]
    finally:
        clients.close_all()
        live.stop()


# -- stop() -------------------------------------------------------------------------

@pytest.mark.parametrize('transport', ['websocket', 'polling'])
def test_stop_from_socketio_handler(clients, transport):
    state = State()
    app, socketio = make_app(state)
    live = LiveServer(socketio, app).start()
    client = clients(live.url, transports=[transport])
    if transport == 'websocket':
        assert client.call('stop_server', timeout=TIMEOUT) == 'stopping'
    else:
        # over polling the ack needs a new GET, which a stopped server may
        # no longer accept: only the stop itself is certain
        client.emit('stop_server')
    live.wait_stopped()
    clients.close_all()


def test_stop_from_http_route(clients):
    state = State()
    app, socketio = make_app(state)
    live = LiveServer(socketio, app).start()
    client = clients(live.url, transports=['websocket'])
    assert client.call('echo', 'alive', timeout=TIMEOUT) == 'alive'
    r = requests.get(f'{live.url}/stop', timeout=TIMEOUT)
    assert r.status_code == 200 and r.text == 'stopping'
    live.wait_stopped()
    clients.close_all()


def test_stop_without_run_raises():
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode='threading')
    with pytest.raises(RuntimeError):
        socketio.stop()


@pytest.mark.parametrize('transport', ['websocket', 'upgrade'])
def test_websocket_close_handshake_is_prompt(server, clients, transport):
    # Werkzeug must not read the client's closing frame as a new HTTP
    # request (it answered 400 and the client waited 3 s for a close frame)
    client = clients(server.url, transports=TRANSPORTS[transport])
    assert wait_until(lambda: client.transport() == 'websocket', TIMEOUT)
    sid = client.get_sid()
    started = time.monotonic()
    client.disconnect()
    assert time.monotonic() - started < 1.5
    assert wait_until(lambda: any(s == sid for s, _ in
                                  server.state.disconnects), TIMEOUT)


def test_run_takes_app_run_options_and_binds_loopback_by_default(clients):
    """Options app.run() takes (debugger, reloader, dotenv) are accepted;
    with no host, run() listens on 127.0.0.1 whatever SERVER_NAME says."""
    app = Flask(__name__)
    app.config['SERVER_NAME'] = 'example.invalid:5000'
    socketio = SocketIO(app, async_mode='threading')

    @socketio.on('echo')
    def echo(data):
        return data

    port = free_port()
    errors = []

    def run():
        try:
            socketio.run(app, port=port, allow_unsafe_werkzeug=True,
                         use_debugger=False, use_evalex=False,
                         reloader_type='stat', load_dotenv=False)
        except BaseException as exc:
            errors.append(exc)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for_port(port)
    client = clients(f'http://127.0.0.1:{port}', transports=['websocket'])
    assert client.call('echo', 'loopback', timeout=TIMEOUT) == 'loopback'
    socketio.stop()
    thread.join(TIMEOUT)
    assert not thread.is_alive() and not errors
