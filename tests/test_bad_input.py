"""Hostile or broken clients cost only themselves.

Raw clients (websocket-client, requests) speak Engine.IO v4 / Socket.IO v5
by hand, so they can break the protocol in ways python-socketio's client
refuses to; a well-behaved python-socketio client connected at the same
time must keep working throughout.
"""
from __future__ import annotations

import json
import logging
import time

import pytest
import requests
import websocket
from flask import Flask

from flask_socketio import SocketIO, emit

from _live import TIMEOUT, ClientFactory, LiveServer, Recorder
from conftest import ListHandler, wait_until

MAX_SIZE = 1000


@pytest.fixture(scope='module')
def server():
    log, handler = ListHandler.capture('tests.bad_input.server')

    app = Flask(__name__)
    socketio = SocketIO(app, async_mode='threading', logger=log,
                        max_http_buffer_size=MAX_SIZE, ping_interval=1)
    state = {'ack_errors': 0, 'type_error_calls': 0}

    @socketio.on('connect')
    def connect(auth):
        if auth and auth.get('explode'):
            raise RuntimeError('connect handler exploded')
        if auth and auth.get('type_error'):
            state['type_error_calls'] += 1
            raise TypeError('connect handler made a type error')

    @socketio.on('disconnect', namespace='/fragile')
    def fragile_disconnect(reason):
        raise RuntimeError('disconnect handler exploded')

    @socketio.on('echo')
    def echo(data):
        return data

    @socketio.on('boom')
    def boom():
        raise ValueError('handler exploded')

    @socketio.on('want_ack')
    def want_ack():
        def bad_callback(*args):
            state['ack_errors'] += 1
            raise KeyError('ack callback exploded')
        emit('please_ack', 'x', callback=bad_callback)

    @socketio.on('connect', namespace='/chat')
    def chat_connect():
        pass

    live = LiveServer(socketio, app).start()
    live.log = handler
    live.state = state
    yield live
    live.stop()
    log.removeHandler(handler)


@pytest.fixture
def good(server):
    """A well-behaved python-socketio client, connected throughout."""
    factory = ClientFactory()
    client = factory(server.url, transports=['websocket'])
    assert client.call('echo', 'hello', timeout=TIMEOUT) == 'hello'
    yield client
    factory.close_all()


def assert_still_works(client):
    assert client.connected
    assert client.call('echo', {'still': 'fine'}, timeout=TIMEOUT) == \
        {'still': 'fine'}


# -- raw websocket client -------------------------------------------------------

class RawWS:
    def __init__(self, port):
        self.ws = websocket.create_connection(
            f'ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket',
            timeout=TIMEOUT)
        opening = self.ws.recv()
        assert opening.startswith('0{'), opening
        self.handshake = json.loads(opening[1:])

    def send(self, text):
        self.ws.send(text)

    def recv(self):
        """The next packet that is not a ping (answered), None once the
        server closed the connection."""
        while True:
            try:
                frame = self.ws.recv()
            except (websocket.WebSocketConnectionClosedException,
                    ConnectionError):
                return None
            if frame == '':
                return None  # close frame
            if frame == '2':
                self.ws.send('3')
                continue
            return frame

    def connect(self, namespace='', auth=None):
        ns = f'{namespace},' if namespace else ''
        self.send('40' + ns + (json.dumps(auth) if auth else ''))
        return self.recv()

    def wait_closed(self, timeout=TIMEOUT):
        """Read until the server closes; False if it has not within
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.recv()
            if frame is None or frame == '1':
                return True
        return False

    def close(self):
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass


@pytest.fixture
def raw(server):
    opened = []

    def make():
        r = RawWS(server.port)
        opened.append(r)
        return r
    yield make
    for r in opened:
        r.close()


MALFORMED = {
    'bad_json': '42["echo", {"a": ',
    'unknown_packet_type': '49["echo"]',
    'non_digit_type': '4x["echo"]',
    'namespace_without_slash': '40chat,{}',
    'garbage_after_namespace': '42/chat,}{',
    'absurd_attachment_count': '45123456789012-["echo",'
                               '{"_placeholder":true,"num":0}]',
    'connect_error_from_client': '44{"message":"x"}',
    'garbage': '4\x00\xff\ufffd not a packet',
}


@pytest.mark.parametrize('name', list(MALFORMED))
def test_malformed_packet_disconnects_only_its_sender(server, good, raw, name):
    bad = raw()
    connected = bad.connect()
    assert connected.startswith('40{"sid":'), connected
    mark = server.log.mark()
    bad.send(MALFORMED[name])
    assert bad.wait_closed(), 'server kept a client sending ' + name
    assert wait_until(lambda: any('invalid packet' in r.getMessage()
                                  for r in server.log.since(mark)), TIMEOUT)
    assert_still_works(good)
    # the server accepts new clients as before
    again = raw()
    assert again.connect().startswith('40{"sid":')
    again.send('421["echo","ok"]')
    assert again.recv() == '431["ok"]'


def test_malformed_packet_before_connect(server, good, raw):
    bad = raw()
    bad.send('4{{{')
    assert bad.wait_closed()
    assert_still_works(good)


def test_good_raw_client_round_trips(server, raw):
    # the raw protocol helper itself is right: a well-formed session works
    r = raw()
    assert r.connect().startswith('40{"sid":')
    r.send('4212["echo",{"n":[1,2]}]')
    assert r.recv() == '4312[{"n":[1,2]}]'
    r.send('451-["echo",{"_placeholder":true,"num":0}]')
    r.ws.send_binary(b'\x01\x02')
    r.send('42["echo", 1]')  # binary ack not requested: nothing back
    r.send('427["echo",2]')
    assert r.recv() == '437[2]'


def test_unknown_namespace_gets_connect_error(server, good, raw):
    r = raw()
    reply = r.connect('/nowhere')
    assert reply.startswith('44/nowhere,'), reply
    assert json.loads(reply[len('44/nowhere,'):])
    # the connection stays usable for '/' and for a known namespace
    assert r.connect().startswith('40{"sid":')
    r.send('423["echo","root"]')
    assert r.recv() == '433["root"]'
    assert r.connect('/chat').startswith('40/chat,{"sid":')
    assert_still_works(good)


def test_event_for_unconnected_namespace_is_ignored(server, good, raw):
    r = raw()
    assert r.connect().startswith('40{"sid":')
    r.send('42/chat,1["echo","nope"]')
    r.send('422["echo","yes"]')
    assert r.recv() == '432["yes"]'  # no reply for /chat, still connected
    assert_still_works(good)


# -- oversize messages --------------------------------------------------------------

def test_oversize_websocket_message_closes_only_that_connection(server, good,
                                                                raw):
    r = raw()
    assert r.connect().startswith('40{"sid":')
    assert r.handshake['maxPayload'] == MAX_SIZE
    r.send('42["echo","' + 'x' * (MAX_SIZE * 2) + '"]')
    assert r.wait_closed()
    assert_still_works(good)
    # just under the limit is fine
    ok = raw()
    assert ok.connect().startswith('40{"sid":')
    payload = 'y' * (MAX_SIZE - 20)
    ok.send('421["echo","' + payload + '"]')
    assert ok.recv() == '431["' + payload + '"]'


class RawPolling:
    def __init__(self, url):
        self.url = f'{url}/socket.io/'
        self.http = requests.Session()
        r = self.http.get(self.url, params={'EIO': 4, 'transport': 'polling'},
                          timeout=TIMEOUT)
        assert r.status_code == 200 and r.text.startswith('0{'), r.text
        self.sid = json.loads(r.text[1:])['sid']

    def params(self):
        return {'EIO': 4, 'transport': 'polling', 'sid': self.sid}

    def post(self, body):
        return self.http.post(self.url, params=self.params(),
                              data=body.encode(), timeout=TIMEOUT)

    def get(self):
        r = self.http.get(self.url, params=self.params(), timeout=TIMEOUT)
        return r.status_code, [p for p in r.text.split('\x1e')
                               if p != '2' or self.post('3') is None]


def test_oversize_polling_post_rejected(server, good):
    p = RawPolling(server.url)
    assert p.post('40').status_code == 200
    status, packets = p.get()
    assert status == 200 and packets[0].startswith('40{"sid":')
    r = p.post('42["echo","' + 'x' * (MAX_SIZE * 2) + '"]')
    assert r.status_code == 413
    # the offending session is gone
    assert p.post('42["echo",1]').status_code == 400
    assert_still_works(good)
    # another polling client carries on, under the limit
    q = RawPolling(server.url)
    assert q.post('40').status_code == 200
    assert q.get()[1][0].startswith('40{"sid":')
    assert q.post('421["echo","fine"]').status_code == 200
    assert wait_until(lambda: '431["fine"]' in q.get()[1], TIMEOUT)


def test_polling_post_of_many_packets_delivers_them_all(server, good):
    # python-engineio refuses more than 16 (a 400 the official client takes
    # for success): any number within max_http_buffer_size is taken
    p = RawPolling(server.url)
    assert p.post('40').status_code == 200
    assert p.get()[1][0].startswith('40{"sid":')
    count = 60
    body = '\x1e'.join(f'42{n}["echo",{n}]' for n in range(count))
    assert len(body) < MAX_SIZE
    assert p.post(body).status_code == 200
    acks = set()
    assert wait_until(lambda: acks.update(
        x for x in p.get()[1] if x.startswith('43')) or len(acks) == count,
        TIMEOUT), sorted(acks)
    assert acks == {f'43{n}[{n}]' for n in range(count)}


def _chunks(text, size=100):
    data = text.encode()
    for i in range(0, len(data), size):
        yield data[i:i + size]


def test_chunked_polling_posts_are_bounded_too(server, good):
    p = RawPolling(server.url)
    assert p.post('40').status_code == 200
    assert p.get()[1][0].startswith('40{"sid":')
    # no Content-Length: read as the chunks come, within the limit
    r = p.http.post(p.url, params=p.params(), timeout=TIMEOUT,
                    data=_chunks('421["echo","chunked"]'))
    assert r.request.headers.get('Transfer-Encoding') == 'chunked'
    assert r.status_code == 200
    assert wait_until(lambda: '431["chunked"]' in p.get()[1], TIMEOUT)
    # and refused once over it, the session ended
    r = p.http.post(p.url, params=p.params(), timeout=TIMEOUT,
                    data=_chunks('42["echo","' + 'x' * MAX_SIZE * 3 + '"]'))
    assert r.status_code == 413
    assert p.post('42["echo",1]').status_code == 400
    assert_still_works(good)


def test_polling_post_with_a_bad_content_length_is_a_bad_request(server,
                                                                  good):
    p = RawPolling(server.url)
    assert p.post('40').status_code == 200
    # by hand: HTTP libraries write the right Content-Length themselves
    import http.client
    import urllib.parse
    url = urllib.parse.urlsplit(p.url)
    conn = http.client.HTTPConnection(url.hostname, url.port,
                                      timeout=TIMEOUT)
    try:
        conn.putrequest('POST', url.path + '?' +
                        urllib.parse.urlencode(p.params()))
        conn.putheader('Content-Length', '-5')
        conn.endheaders()
        assert conn.getresponse().status == 400
    finally:
        conn.close()
    assert p.post('42["echo",1]').status_code == 400  # the session ended
    assert_still_works(good)


def test_malformed_polling_packet_closes_session(server, good):
    p = RawPolling(server.url)
    assert p.post('40').status_code == 200
    assert p.get()[1][0].startswith('40{"sid":')
    mark = server.log.mark()
    p.post('42["echo", {')
    assert wait_until(lambda: any('invalid packet' in r.getMessage()
                                  for r in server.log.since(mark)), TIMEOUT)
    assert wait_until(lambda: p.post('42["echo",1]').status_code == 400,
                      TIMEOUT)
    assert_still_works(good)


# -- application errors -------------------------------------------------------------

@pytest.mark.parametrize('transport', ['websocket', 'polling'])
def test_raising_handler_is_logged_client_stays(server, good, transport):
    factory = ClientFactory()
    try:
        c = factory(server.url, transports=[transport])
        mark = server.log.mark()
        acked = Recorder()
        c.emit('boom', callback=lambda *a: acked.add('ack', *a))
        assert wait_until(lambda: any(
            'boom' in r.getMessage() and r.exc_info
            and 'handler exploded' in str(r.exc_info[1])
            for r in server.log.since(mark, logging.ERROR)), TIMEOUT)
        assert c.connected
        assert c.call('echo', 'after boom', timeout=TIMEOUT) == 'after boom'
        c.emit('boom')
        assert c.call('echo', 'again', timeout=TIMEOUT) == 'again'
        assert_still_works(good)
    finally:
        factory.close_all()


def test_raising_connect_handler_gives_connect_error(server, good, raw):
    r = raw()
    mark = server.log.mark()
    reply = r.connect(auth={'explode': True})
    assert reply is not None and reply.startswith('44'), reply
    assert wait_until(lambda: any(
        'connect handler' in r.getMessage()
        for r in server.log.since(mark, logging.ERROR)), TIMEOUT)
    # no hang, and the Engine.IO connection may connect properly after
    assert r.connect().startswith('40{"sid":')
    assert_still_works(good)


def test_raising_connect_handler_python_client(server, good):
    import socketio as sio_lib
    factory = ClientFactory()
    try:
        c = factory(server.url, connect=False)
        errors = Recorder()
        c.on('connect_error', lambda data: errors.add('error', data))
        with pytest.raises(sio_lib.exceptions.ConnectionError):
            c.connect(server.url, transports=['polling'],
                      auth={'explode': True}, wait_timeout=TIMEOUT)
        assert errors.wait_for('error')
    finally:
        factory.close_all()
    assert_still_works(good)


def test_raising_ack_callback_is_logged_connection_survives(server, good,
                                                            raw):
    r = raw()
    assert r.connect().startswith('40{"sid":')
    mark = server.log.mark()
    before = server.state['ack_errors']
    r.send('42["want_ack"]')
    pkt = r.recv()
    assert pkt.startswith('42') and pkt.endswith('["please_ack","x"]'), pkt
    ack_id = pkt[2:pkt.index('[')]
    r.send(f'43{ack_id}["answer"]')
    assert wait_until(lambda: server.state['ack_errors'] == before + 1,
                      TIMEOUT)
    assert wait_until(lambda: any(
        'acknowledgement' in rec.getMessage()
        for rec in server.log.since(mark, logging.ERROR)), TIMEOUT)
    r.send('429["echo","alive"]')
    assert r.recv() == '439["alive"]'
    # an ack for an id nobody waits for is harmless too
    r.send('43999["stray"]')
    r.send('428["echo","still"]')
    assert r.recv() == '438["still"]'
    assert_still_works(good)


def test_connect_handler_type_error_refuses_and_runs_once(server, good, raw):
    # python-socketio would take a TypeError for a legacy handler signature
    # and call the handler again; the error must be the handler's own
    r = raw()
    before = server.state['type_error_calls']
    mark = server.log.mark()
    reply = r.connect(auth={'type_error': True})
    assert reply is not None and reply.startswith('44'), reply
    assert 'Internal server error' in reply
    assert server.state['type_error_calls'] == before + 1
    assert any('connect handler' in rec.getMessage()
               for rec in server.log.since(mark, logging.ERROR))
    assert_still_works(good)


def test_raising_disconnect_handler_is_logged_and_cleaned_up(server, good,
                                                             raw):
    r = raw()
    assert r.connect().startswith('40{"sid":')
    reply = r.connect('/fragile')
    assert reply.startswith('40/fragile,{"sid":'), reply
    sid = json.loads(reply[len('40/fragile,'):])['sid']
    manager = server.socketio.server.manager
    # python-socketio sends the reply first, then marks the sid connected
    assert wait_until(lambda: manager.is_connected(sid, '/fragile'), TIMEOUT)
    mark = server.log.mark()
    r.send('41/fragile,')
    assert wait_until(lambda: any(
        'disconnect handler' in rec.getMessage()
        for rec in server.log.since(mark, logging.ERROR)), TIMEOUT)
    # python-socketio finished the disconnect: no trace of the sid is left
    assert wait_until(lambda: sid not in manager.rooms.get(
        '/fragile', {}).get(None, {}), TIMEOUT)
    assert sid not in manager.pending_disconnect.get('/fragile', set())
    # the client's '/' connection carries on
    r.send('421["echo","ok"]')
    assert r.recv() == '431["ok"]'
    assert_still_works(good)


def test_binary_attachments_beyond_the_message_limit_disconnect(server, good,
                                                                raw):
    r = raw()
    assert r.connect().startswith('40{"sid":')
    mark = server.log.mark()
    placeholders = ','.join('{"_placeholder":true,"num":%d}' % i
                            for i in range(3))
    r.send(f'453-["echo",[{placeholders}]]')
    for _ in range(2):  # each under the limit, together over it
        r.ws.send_binary(b'x' * (MAX_SIZE * 2 // 3))
    assert r.wait_closed(), 'server kept buffering attachments'
    assert any('exceed' in rec.getMessage()
               for rec in server.log.since(mark))
    assert_still_works(good)
