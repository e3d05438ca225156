"""Several server processes sharing a real Redis message queue.

Two threading-mode servers (``tests/servers/mq_server.py``) run as separate
processes on loopback with ``SocketIO(app, message_queue=..., channel=...)``;
a third process (``tests/servers/mq_emitter.py``) is a write-only emitter
with no app.  Real python-socketio clients connect to each server.  Every
test uses a channel of its own, so runs never see each other's traffic.

"Nothing arrived" is checked without sleeping: after the emit under test a
*barrier* event goes to every client over the same path (same publisher,
same queue, same server-to-client connection, all ordered), so once a
client has the barrier it would already have had the emit under test.
"""
from __future__ import annotations

import json
import subprocess
import time
import uuid

import flask
import pytest
import redis
import requests
import socketio as sio_lib

from conftest import free_port, wait_until
from _peers import SERVERS, TIMEOUT, unique_channel

from flask_socketio import SocketIO
from flask_socketio._engine import FanOut

ROOM = 'lobby'


def token() -> str:
    return uuid.uuid4().hex


def subscribers(redis_url: str, channel: str) -> int:
    conn = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        return dict(conn.pubsub_numsub(channel)).get(channel.encode(), 0)
    finally:
        conn.close()


def wait_subscribed(redis_url: str, channel: str, count: int) -> None:
    """The servers subscribe when their first client connects; publish
    nothing until all ``count`` of them listen."""
    ok = wait_until(lambda: subscribers(redis_url, channel) >= count, TIMEOUT)
    assert ok, (f'{count} subscriber(s) expected on {channel}, found '
                f'{subscribers(redis_url, channel)}')


def run_emitter(python: str, redis_url: str, channel: str,
                emits: list) -> dict:
    """Run the write-only emitter process to completion (bounded)."""
    result = subprocess.run(
        [python, str(SERVERS / 'mq_emitter.py'), redis_url, channel,
         json.dumps(emits)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def start_server(spawn_server, python, redis_url):
    """Start one ``mq_server.py`` process; returns its base URL."""
    def start(channel: str, name: str) -> str:
        port = free_port()
        spawn_server(python, SERVERS / 'mq_server.py', port, redis_url,
                     channel, name)
        return f'http://127.0.0.1:{port}'
    return start


def double(name):
    return lambda x: {'who': name, 'double': x * 2}


class Cluster:
    """Servers A and B on one channel; on each, a client in ROOM (``*_in``)
    and one outside it (``*_out``), one over WebSocket and one over
    long-polling per server (the upgrade path is covered by
    test_async_modes.py; without it, clients also close faster)."""

    def __init__(self, start_server, peers, redis_url):
        self.channel = unique_channel('cluster')
        self.redis_url = redis_url
        self.url_a = start_server(self.channel, 'A')
        self.url_b = start_server(self.channel, 'B')
        self.a_in = peers(self.url_a, name='a_in', transports=['websocket'],
                          answers={'question': double('a_in')})
        self.a_out = peers(self.url_a, name='a_out', transports=['polling'],
                           answers={'question': double('a_out')})
        self.b_in = peers(self.url_b, name='b_in', transports=['polling'],
                          answers={'question': double('b_in')})
        self.b_out = peers(self.url_b, name='b_out', transports=['websocket'],
                           answers={'question': double('b_out')})
        self.all = [self.a_in, self.a_out, self.b_in, self.b_out]
        for peer in (self.a_in, self.b_in):
            assert ROOM in peer.call('join', ROOM)
        wait_subscribed(redis_url, self.channel, 2)

    def barrier(self, send) -> None:
        """``send(tok)`` emits 'done' tok to everyone; wait for all."""
        tok = token()
        send(tok)
        for peer in self.all:
            peer.wait_for_value('done', tok)

    def barrier_via(self, peer) -> None:
        self.barrier(lambda tok: peer.call(
            'emit_broadcast', {'event': 'done', 'data': tok}))


@pytest.fixture
def cluster(start_server, peers, redis_url):
    return Cluster(start_server, peers, redis_url)


def test_servers_report_queue_configuration(cluster):
    infos = [p.call('info') for p in cluster.all]
    assert [i['server'] for i in infos] == ['A', 'A', 'B', 'B']
    for peer, info in zip(cluster.all, infos):
        assert info['sid'] == peer.sid
        assert info['async_mode'] == 'threading'
        assert info['manager'] == 'RedisManager'
        assert info['channel'] == cluster.channel
        assert info['write_only'] is False
    assert subscribers(cluster.redis_url, cluster.channel) == 2


def test_room_emit_from_handler_reaches_room_on_both_servers(cluster):
    # senders on either server, inside or outside the room
    for sender in (cluster.a_out, cluster.b_out, cluster.a_in):
        tok = token()
        assert sender.call('emit_to', {'event': 'room_msg', 'data': tok,
                                       'to': ROOM}) is True
        cluster.barrier_via(sender)
        assert cluster.a_in.first_args('room_msg').count(tok) == 1
        assert cluster.b_in.first_args('room_msg').count(tok) == 1
    assert cluster.a_out.received('room_msg') == []
    assert cluster.b_out.received('room_msg') == []


def test_leave_room_stops_delivery_across_servers(cluster):
    assert ROOM not in cluster.b_in.call('leave', ROOM)
    tok = token()
    cluster.a_out.call('emit_to', {'event': 'room_msg', 'data': tok,
                                   'to': ROOM})
    cluster.barrier_via(cluster.a_out)
    assert cluster.a_in.first_args('room_msg') == [tok]
    assert cluster.b_in.received('room_msg') == []


def test_broadcast_from_handler_reaches_everyone_once(cluster):
    toks = []
    for sender in (cluster.a_out, cluster.b_in):
        tok = token()
        toks.append(tok)
        assert sender.call('emit_broadcast',
                           {'event': 'news', 'data': tok}) is True
    cluster.barrier_via(cluster.b_out)
    for peer in cluster.all:
        # the sender too (include_self), and exactly once: the local
        # delivery and the queue's echo are not both made
        assert peer.first_args('news') == toks


def test_http_route_emit_reaches_both_servers(cluster):
    def post(url, **msg):
        resp = requests.post(url + '/emit', json=msg, timeout=TIMEOUT)
        assert resp.status_code == 200
        return resp.json()

    everyone, room_tok, sid_tok = token(), token(), token()
    assert post(cluster.url_a, event='news', data=everyone) == \
        {'ok': True, 'server': 'A'}
    post(cluster.url_b, event='room_msg', data=room_tok, to=ROOM)
    post(cluster.url_a, event='direct', data=sid_tok, to=cluster.b_out.sid)
    cluster.barrier(lambda tok: post(cluster.url_b, event='done', data=tok))

    for peer in cluster.all:
        assert peer.first_args('news') == [everyone]
    assert cluster.a_in.first_args('room_msg') == [room_tok]
    assert cluster.b_in.first_args('room_msg') == [room_tok]
    assert cluster.a_out.received('room_msg') == []
    assert cluster.b_out.received('room_msg') == []
    assert cluster.b_out.first_args('direct') == [sid_tok]
    for peer in (cluster.a_in, cluster.a_out, cluster.b_in):
        assert peer.received('direct') == []


def test_emit_to_sid_of_client_on_other_server(cluster):
    to_b, to_a = token(), token()
    cluster.a_in.call('emit_to', {'event': 'direct', 'data': to_b,
                                  'to': cluster.b_out.sid})
    cluster.b_in.call('emit_to', {'event': 'direct', 'data': to_a,
                                  'to': cluster.a_out.sid})
    cluster.barrier_via(cluster.a_in)
    assert cluster.b_out.first_args('direct') == [to_b]
    assert cluster.a_out.first_args('direct') == [to_a]
    assert cluster.a_in.received('direct') == []
    assert cluster.b_in.received('direct') == []


def test_call_to_client_on_other_server(cluster):
    # server A calls a client of server B; the ack travels back via Redis
    answer = cluster.a_out.call('call_sid', {'sid': cluster.b_out.sid,
                                             'event': 'question', 'data': 21})
    assert answer == {'who': 'b_out', 'double': 42}
    answer = cluster.b_in.call('call_sid', {'sid': cluster.a_in.sid,
                                            'event': 'question', 'data': 5})
    assert answer == {'who': 'a_in', 'double': 10}


def test_join_room_of_client_on_other_server(cluster):
    room = 'late-' + token()
    assert cluster.a_out.call('join_sid', {'sid': cluster.b_out.sid,
                                           'room': room}) is True
    tok = token()
    # published by A after its enter_room message: B handles them in order
    cluster.a_in.call('emit_to', {'event': 'room_msg', 'data': tok,
                                  'to': room})
    cluster.barrier_via(cluster.a_in)
    assert cluster.b_out.first_args('room_msg') == [tok]
    for peer in (cluster.a_in, cluster.a_out, cluster.b_in):
        assert peer.received('room_msg') == []


def test_emitter_process_reaches_both_servers(cluster, python):
    room_tok, to_b, to_a, everyone, done = (token() for _ in range(5))
    report = run_emitter(python, cluster.redis_url, cluster.channel, [
        {'event': 'room_msg', 'data': room_tok, 'to': ROOM},
        {'event': 'direct', 'data': to_b, 'to': cluster.b_out.sid},
        {'event': 'direct', 'data': to_a, 'to': cluster.a_out.sid},
        {'event': 'news', 'data': {'tok': everyone}, 'binary': 'bytes\x00!'},
        {'event': 'done', 'data': done},
    ])
    assert report == {'manager': 'RedisManager', 'write_only': True,
                      'channel': cluster.channel}
    for peer in cluster.all:
        peer.wait_for_value('done', done)
        assert peer.first_args('news') == [{'tok': everyone,
                                            'blob': b'bytes\x00!'}]
    assert cluster.a_in.first_args('room_msg') == [room_tok]
    assert cluster.b_in.first_args('room_msg') == [room_tok]
    assert cluster.a_out.received('room_msg') == []
    assert cluster.b_out.received('room_msg') == []
    assert cluster.b_out.first_args('direct') == [to_b]
    assert cluster.a_out.first_args('direct') == [to_a]
    assert cluster.a_in.received('direct') == []
    assert cluster.b_in.received('direct') == []
    # the emitter never subscribed: still only the two servers listen
    assert subscribers(cluster.redis_url, cluster.channel) == 2


def test_channels_isolate_clusters(start_server, peers, redis_url, python):
    ch1, ch2 = unique_channel('iso1'), unique_channel('iso2')
    pa = peers(start_server(ch1, 'A'), name='pa', transports=['websocket'])
    pb = peers(start_server(ch2, 'B'), name='pb', transports=['polling'])
    wait_subscribed(redis_url, ch1, 1)
    wait_subscribed(redis_url, ch2, 1)

    run_emitter(python, redis_url, ch1, [{'event': 'news', 'data': 'one'}])
    run_emitter(python, redis_url, ch2, [{'event': 'news', 'data': 'two'}])
    pa.call('emit_broadcast', {'event': 'news', 'data': 'three'})
    pb.call('emit_broadcast', {'event': 'news', 'data': 'four'})
    # each published after everything above: a server listening on the
    # wrong channel would have had the earlier messages before these
    run_emitter(python, redis_url, ch1, [{'event': 'news', 'data': 'five'}])
    run_emitter(python, redis_url, ch2, [{'event': 'news', 'data': 'six'}])
    pa.wait_for_value('news', 'five')
    pb.wait_for_value('news', 'six')
    time.sleep(0.3)  # margin for the one message published after 'five'
    assert pa.first_args('news') == ['one', 'three', 'five']
    assert pb.first_args('news') == ['two', 'four', 'six']
    assert subscribers(redis_url, ch1) == 1
    assert subscribers(redis_url, ch2) == 1


# -- in-process checks of the extension's queue wiring -----------------------

def test_rediss_url_selects_redis_manager():
    """A TLS Redis URL gets the Redis manager (constructing it opens no
    connection, so no TLS server is needed)."""
    url = 'rediss://127.0.0.1:6390/0'
    channel = unique_channel('tls')
    app = flask.Flask(__name__)
    server = SocketIO(app, message_queue=url, channel=channel).server
    assert isinstance(server.manager, sio_lib.RedisManager)
    assert server.manager.redis_url == url
    assert server.manager.channel == channel
    assert server.manager.write_only is False

    emitter = SocketIO(message_queue=url, channel=channel).server
    assert isinstance(emitter.manager, sio_lib.RedisManager)
    assert emitter.manager.redis_url == url
    assert emitter.manager.write_only is True


def test_other_urls_select_kombu_with_fan_out():
    """AMQP (and any other scheme) goes to Kombu; like every pub/sub manager
    it delivers locally through FanOut (constructing it connects nowhere)."""
    url = 'amqp://guest:guest@127.0.0.1:5672//'
    server = SocketIO(flask.Flask(__name__), message_queue=url,
                      channel=unique_channel('amqp')).server
    assert isinstance(server.manager, sio_lib.KombuManager)
    assert isinstance(server.manager, FanOut)
    assert server.manager.url == url


def test_default_channel_and_app_factory(redis_url):
    app = flask.Flask(__name__)
    ext = SocketIO(message_queue=redis_url)   # write-only emitter at once
    assert ext.server.manager.channel == 'flask-socketio'
    assert ext.server.manager.write_only is True

    factory = SocketIO()
    channel = unique_channel('factory')
    factory.init_app(app, message_queue=redis_url, channel=channel)
    assert isinstance(factory.server.manager, sio_lib.RedisManager)
    assert factory.server.manager.channel == channel
    assert factory.server.manager.write_only is False
    assert app.extensions['socketio'] is factory


def test_write_only_emitter_publishes_without_listening(redis_url):
    channel = unique_channel('wo')
    conn = redis.Redis.from_url(redis_url, socket_timeout=5)
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel)
        wait_subscribed(redis_url, channel, 1)

        emitter = SocketIO(message_queue=redis_url, channel=channel)
        assert emitter.server.manager.write_only is True
        emitter.emit('hello', {'x': 1}, to='room1', namespace='/chat')

        deadline = time.monotonic() + TIMEOUT
        message = None
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
        assert message is not None, 'nothing published by the emitter'
        data = json.loads(message['data'])
        assert data['method'] == 'emit'
        assert data['event'] == 'hello'
        # python-socketio's own wire format (later releases publish a list)
        assert data['data'] in ([{'x': 1}], {'x': 1})
        assert data['room'] == 'room1'
        assert data['namespace'] == '/chat'
        # write-only: it never subscribed to its channel
        assert subscribers(redis_url, channel) == 1
    finally:
        pubsub.close()
        conn.close()
