"""The transport of this package (``flask_socketio.transport``), end to end
over 127.0.0.1: what it adds to the engine's (bounded backlogs, no thread
per connection, direct writes from any thread, connections that end when
their session does) and how it reads hostile frames.  The application is
``tests/servers/transport_app.py``; most tests run on each of its
servers: threading mode on Werkzeug in this process; gevent's pywsgi with
and without gevent-websocket, and eventlet's server, each in a process of
its own.  Every test runs
with the native transport on (``FLASK_SOCKETIO_TRANSPORT=native``),
whatever the rest of the suite runs on."""
from __future__ import annotations

import base64
import importlib.util
import json
import os
import queue
import socket
import struct
import subprocess
import threading
import time

import pytest
import requests
from flask import Flask

from flask_socketio import SocketIO
from flask_socketio.transport.loop import Loop, Workers

from _live import TIMEOUT, ClientFactory, LiveServer
from _peers import SERVERS
from conftest import free_port, stop_processes, wait_for_port, wait_until
from test_websocket_frames import client_frame

_spec = importlib.util.spec_from_file_location(
    'transport_app', SERVERS / 'transport_app.py')
transport_app = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(transport_app)

MAX_SIZE = transport_app.MAX_SIZE
GREEN_MODES = ['gevent', 'gevent-pywsgi', 'eventlet']


class RawClient:
    """A WebSocket client on a plain socket: the handshake, masked frames
    out, the server's frames in, and reading only when told to."""

    def __init__(self, port, read_buffer=None):
        self.sock = socket.socket()
        if read_buffer:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF,
                                 read_buffer)
        self.sock.settimeout(TIMEOUT)
        self.sock.connect(('127.0.0.1', port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            ('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n'
             'Host: 127.0.0.1\r\nUpgrade: websocket\r\n'
             'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
             f'Sec-WebSocket-Key: {key}\r\n\r\n').encode())
        self.buffer = b''
        while b'\r\n\r\n' not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b'\r\n\r\n', 1)
        assert head.startswith(b'HTTP/1.1 101 '), head
        opcode, payload = self.frame()
        assert payload.startswith(b'0{'), payload
        self.handshake = json.loads(payload[1:])

    def _more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def _take(self, n):
        while len(self.buffer) < n:
            self._more()
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def frame(self):
        """The next frame from the server: (opcode, payload)."""
        first, second = self._take(2)
        assert not second & 0x80, 'server frames are not masked'
        length = second & 0x7F
        if length == 126:
            length, = struct.unpack('!H', self._take(2))
        elif length == 127:
            length, = struct.unpack('!Q', self._take(8))
        return first & 0x0F, self._take(length)

    def text(self):
        """The next Engine.IO packet that is not a ping (answered); None
        at a close frame."""
        while True:
            opcode, payload = self.frame()
            if opcode == 0x8:
                return None
            if payload == b'2':
                self.send('3')
                continue
            return payload.decode()

    def send(self, text):
        self.sock.sendall(client_frame(0x1, text.encode()))

    def answer_pings_unread(self, interval=0.2):
        """Send a pong every ``interval`` s, from a thread, without
        reading: a client whose reader is stuck but whose connection lives
        (else the server's ping timeout, 1.5 s in transport_app, could end
        it first).  Stops when the connection does."""
        def run():
            try:
                while True:
                    self.send('3')
                    time.sleep(interval)
            except OSError:
                pass
        threading.Thread(target=run, daemon=True).start()

    def close_code(self):
        """Read to the close frame: its code (None if the socket ended
        without one)."""
        try:
            while True:
                opcode, payload = self.frame()
                if opcode == 0x8:
                    return struct.unpack('!H', payload[:2])[0]
        except (EOFError, ConnectionError):
            return None

    def at_eof(self, timeout=TIMEOUT):
        """Whether the server closes the TCP connection within
        ``timeout`` (everything before the end is read and dropped)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


class Served:
    """A server of ``tests/servers/transport_app.py`` and what it tells of
    itself (``GET /state``); the same for every mode."""

    def __init__(self, mode, port):
        self.mode = mode
        self.port = port
        self.url = f'http://127.0.0.1:{port}'

    def state(self):
        return requests.get(self.url + '/state', timeout=TIMEOUT).json()

    def reasons(self):
        """The reasons the disconnect handlers saw, in order."""
        return [r if isinstance(r, str) else tuple(r)
                for r in self.state()['reasons']]

    def sessions(self):
        return set(self.state()['sessions'])

    def log(self):
        return self.state()['log']


@pytest.fixture(scope='module')
def local():
    """The threading-mode server, in this process (some tests look into
    its sessions)."""
    mp = pytest.MonkeyPatch()
    mp.setenv('FLASK_SOCKETIO_TRANSPORT', 'native')
    app, socketio = transport_app.build('threading')
    assert socketio.server.eio.native
    live = LiveServer(socketio, app).start()
    served = Served('threading', live.port)
    served.socketio = socketio
    yield served
    live.stop()
    mp.undo()


@pytest.fixture(scope='module')
def green(async_python):
    """Start a server of a green mode, in a process of its own; each is
    stopped at the end of the module."""
    procs = []

    def start(mode):
        port = free_port()
        proc = subprocess.Popen(
            [async_python, str(SERVERS / 'transport_app.py'), str(port),
             mode],
            env=dict(os.environ, FLASK_SOCKETIO_TRANSPORT='native',
                     PYTHONUNBUFFERED='1'),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        procs.append(proc)
        wait_for_port(port, proc=proc)
        served = Served(mode, port)
        assert served.state()['native']
        return served
    yield start
    stop_processes(procs)


@pytest.fixture(scope='module', params=['threading'] + GREEN_MODES)
def server(request):
    """The server of each mode in turn."""
    if request.param == 'threading':
        return request.getfixturevalue('local')
    return request.getfixturevalue('green')(request.param)


@pytest.fixture
def clients():
    factory = ClientFactory()
    yield factory
    factory.close_all()


@pytest.fixture
def raw():
    opened = []

    def make(served, **kwargs):
        r = RawClient(served.port, **kwargs)
        opened.append(r)
        return r
    yield make
    for r in opened:
        r.close()


def test_a_client_that_stops_reading_is_cut_off_at_the_bound(server,
                                                             clients, raw):
    stalled = raw(server, read_buffer=4096)
    stalled.send('40')
    assert stalled.text().startswith('40')
    sid = stalled.handshake['sid']
    stalled.answer_pings_unread()
    good = clients(server.url, transports=['websocket'], events=['chunk'])
    before = len(server.reasons())
    # 8 MB to every client, 30 times the bound, in rounds a reading
    # client keeps up with (each well under the bound)
    rounds, count, size = 80, 10, 10_000
    for i in range(rounds):
        assert good.call('flood', (count, size), timeout=TIMEOUT) == count
        good.received.wait_for('chunk', (i + 1) * count)
    chunks = good.received.of('chunk')
    assert [c[0]['n'] for c in chunks] == list(range(count)) * rounds
    assert wait_until(lambda: 'backlog exceeded' in server.reasons()[before:],
                      TIMEOUT), (server.reasons()[before:], server.log())
    assert wait_until(lambda: sid not in server.sessions(),
                      TIMEOUT)
    assert any(sid in line and 'backlog exceeded' in line
               for line in server.log())
    # the connection is closed, what it had buffered dropped with it
    assert stalled.at_eof()
    assert good.call('echo', 'still here', timeout=TIMEOUT) == 'still here'


def test_connections_do_not_cost_a_thread_each(server, raw):
    base = server.state()['threads']
    peers = [raw(server) for _ in range(150)]
    for p in peers:
        p.send('40')
    for p in peers:
        assert p.text().startswith('40')
    # the workers that ran the connects go idle; connections need none
    state = server.state()
    assert state['threads'] - base < 30, state['threads']
    assert state['connections'] >= 150
    peers[0].send('42["flood",1,10]')
    for p in peers:
        got = p.text()
        while got.startswith('43'):
            got = p.text()
        assert got.startswith('42["chunk",{"n":0'), got
    for p in peers:
        p.close()

    def gone():
        state = server.state()
        return state['connections'] < 150 and len(state['sessions']) < 150
    assert wait_until(gone, TIMEOUT)


def test_hundreds_of_clients_get_every_broadcast_once_in_order(server, raw,
                                                              clients):
    peers = [raw(server) for _ in range(200)]
    for p in peers:
        p.send('40')
    for p in peers:
        assert p.text().startswith('40')
    polling = clients(server.url, transports=['polling'], events=['chunk'])
    count = 100
    peers[0].send(f'421["flood",{count},100]')
    for i, p in enumerate(peers):
        got = []
        while len(got) < count:
            text = p.text()
            if text == f'431[{count}]' and i == 0:
                continue  # the sender's answer
            assert text.startswith('42["chunk",'), text
            got.append(json.loads(text[2:])[1]['n'])
        assert got == list(range(count)), i
    chunks = polling.received.wait_for('chunk', count)
    assert [c[0]['n'] for c in chunks] == list(range(count))


def test_a_burst_of_broadcasts_read_at_once_reaches_everyone_in_order(
        server, raw, clients, monkeypatch):
    # a client's events read together, each a broadcast: what they write
    # waits until they are handled (in threading mode), then leaves in one
    # write per recipient; meanwhile OS threads stream to one recipient,
    # their emits ordered among the broadcasts' as each emitter sent them
    deferred = []
    if server.mode == 'threading':
        defer = Loop.defer

        def counted(self, conn):
            deferred.append(conn)
            return defer(self, conn)
        monkeypatch.setattr(Loop, 'defer', counted)
    peers = [raw(server) for _ in range(30)]
    for p in peers:
        p.send('40')
    for p in peers:
        assert p.text().startswith('40')
    streamed = clients(server.url, transports=['websocket'],
                       events=['chunk', 'seq'])
    count, threads = 40, 2
    assert streamed.call('native_streams', (threads, 200),
                         timeout=TIMEOUT) == 'started'
    peers[0].sock.sendall(b''.join(
        client_frame(0x1, f'42{i}["relay",{i}]'.encode())
        for i in range(count)))
    for i, p in enumerate(peers):
        got, acks = [], []
        while len(got) < count or (i == 0 and len(acks) < count):
            text = p.text()
            if i == 0 and text.startswith('43'):
                acks.append(text)
                continue
            assert text.startswith('42["chunk",'), text
            got.append(json.loads(text[2:])[1]['n'])
        assert got == list(range(count)), i
    chunks = streamed.received.wait_for('chunk', count, timeout=TIMEOUT)
    assert [c[0]['n'] for c in chunks] == list(range(count))
    seqs = streamed.received.wait_for('seq', threads * 200, timeout=TIMEOUT)
    for t in range(threads):
        assert [s[0][1] for s in seqs if s[0][0] == t] == list(range(200))
    if server.mode == 'threading':
        assert len(deferred) >= len(peers), len(deferred)  # it did wait


def test_what_waits_for_the_flush_never_takes_a_backlog_over_its_bound(
        server, raw):
    # events read at once whose broadcasts add up to four times the
    # backlog's bound: what waits leaves before it would pass it, so
    # clients that read are not cut off
    peers = [raw(server) for _ in range(3)]
    for p in peers:
        p.send('40')
    for p in peers:
        assert p.text().startswith('40')
    count, size = 20, 4 * transport_app.BACKLOG // 20
    before = len(server.reasons())
    peers[0].sock.sendall(b''.join(
        client_frame(0x1, f'42["relay",{i},{size}]'.encode())
        for i in range(count)))
    for p in peers:
        got = [json.loads(p.text()[2:])[1] for _ in range(count)]
        assert [c['n'] for c in got] == list(range(count))
        assert all(len(c['pad']) == size for c in got)
    cut = [r for r in server.reasons()[before:] if 'backlog' in str(r)]
    assert cut == []


def test_a_silent_client_is_dropped_after_the_ping_timeout(server, raw):
    r = raw(server)
    r.send('40')
    assert r.sock.recv(65536)
    before = len(server.reasons())
    sid = r.handshake['sid']
    # no pong ever: ping interval 0.5 s, timeout 1 s, then a bounded close
    assert r.at_eof(timeout=10)
    assert wait_until(lambda: 'ping timeout' in server.reasons()[before:],
                      TIMEOUT)
    assert wait_until(lambda: sid not in server.sessions(),
                      TIMEOUT)


@pytest.mark.parametrize('frame, code', [
    # a 50 MB message announced: refused from its header, nothing sent
    (struct.pack('!BBQ', 0x81, 0xFF, 50_000_000) + b'\x01\x02\x03\x04',
     1009),
    (client_frame(0x1, b'4\xff\xfe'), 1007),
    (client_frame(0x1, b'42["echo"]', masked=False), 1002),
    (client_frame(0x3, b'x'), 1002),
    (client_frame(0x1, b'42', rsv=4), 1002),
])
def test_bad_frames_end_their_connection_with_its_code(server, clients, raw,
                                                       frame, code):
    good = clients(server.url, transports=['websocket'])
    r = raw(server)
    r.send('40')
    assert r.text().startswith('40')
    sid = r.handshake['sid']
    before = len(server.reasons())
    r.sock.sendall(frame)
    assert r.close_code() == code
    assert r.at_eof()
    assert wait_until(lambda: 'transport error' in server.reasons()[before:],
                      TIMEOUT)
    assert wait_until(lambda: sid not in server.sessions(),
                      TIMEOUT)
    assert good.call('echo', 1, timeout=TIMEOUT) == 1


def test_a_message_at_the_limit_is_taken(server, raw):
    r = raw(server)
    r.send('40')
    assert r.text().startswith('40')
    r.send('421' + json.dumps(['echo', 'y' * (MAX_SIZE - 20)]))
    reply = r.text()
    assert reply.startswith('431["yyy') and len(reply) > MAX_SIZE - 20


def test_concurrent_emitters_to_one_client_keep_their_order(server,
                                                            clients):
    c = clients(server.url, transports=['websocket'], events=['seq'])
    threads, count = 4, 300
    assert c.call('streams', (threads, count), timeout=30) == 'done'
    got = c.received.wait_for('seq', threads * count, timeout=30)
    for t in range(threads):
        assert [s[0][1] for s in got if s[0][0] == t] == list(range(count))


def test_emits_from_native_threads_arrive_at_once_in_order(server, clients):
    # OS threads (not the mode's greenlets): a burst over what the socket
    # buffers, so the rest waits for the socket to drain, then a single
    # emit that must not wait for the server's next wake-up
    c = clients(server.url, transports=['websocket'], events=['seq'])
    threads, count = 4, 300
    assert c.call('native_streams', (threads, count, 2000),
                  timeout=TIMEOUT) == 'started'
    got = c.received.wait_for('seq', threads * count, timeout=30)
    for t in range(threads):
        assert [s[0][1] for s in got if s[0][0] == t] == list(range(count))
    assert c.call('native_streams', (1, 1), timeout=TIMEOUT) == 'started'
    c.received.wait_for('seq', threads * count + 1, timeout=1)


def test_upgrade_with_traffic_in_flight(server, clients):
    c = clients(server.url, transports=['polling', 'websocket'],
                events=['seq'])
    # server emits start before the upgrade completes and go on through it
    assert c.call('streams', (2, 400), timeout=30) == 'done'
    got = c.received.wait_for('seq', 800, timeout=30)
    for t in range(2):
        assert [s[0][1] for s in got if s[0][0] == t] == list(range(400))
    assert wait_until(lambda: c.transport() == 'websocket', TIMEOUT)
    assert c.call('echo', 'after', timeout=TIMEOUT) == 'after'


@pytest.mark.parametrize('event', ['slow', 'stall'])
def test_slow_handlers_of_one_client_run_at_once_beside_fast_ones(server,
                                                                 clients,
                                                                 event):
    # each event of a client that blocks in its handler has a handler of
    # its own, with its own request, while that client's and another
    # client's round trips go on: whether the handler waits through the
    # server (socketio.sleep) or not (time.sleep)
    a = clients(server.url, transports=['websocket'])
    b = clients(server.url, transports=['websocket'])
    answers = queue.Queue()
    start = time.monotonic()
    for tag in ('first', 'second'):
        a.emit(event, (tag, 1.5), callback=lambda *r: answers.put(r))
        time.sleep(0.2)  # each read alone, its handler started meanwhile
    a_echo = a.call('echo', 'a', timeout=TIMEOUT)
    trips = [b.call('echo', i, timeout=TIMEOUT) for i in range(20)]
    fast = time.monotonic() - start
    got = sorted(answers.get(timeout=TIMEOUT) for _ in range(2))
    both = time.monotonic() - start
    assert (a_echo, trips) == ('a', list(range(20)))
    assert fast < 1.3, fast
    sid = a.get_sid()
    assert got == [(['first', 'first', sid],), (['second', 'second', sid],)]
    assert both < 2.7, both  # side by side, not one after the other


@pytest.mark.parametrize('event', ['slow', 'stall'])
def test_events_read_at_once_run_at_once_when_one_blocks(server, raw,
                                                         event):
    # several events in one read: their handlers start one after another
    # (on the loop's thread, in threading mode), and one that blocks, with
    # the server told or not, leaves the rest to others
    r = raw(server)
    r.send('40')
    assert r.text().startswith('40')
    r.sock.sendall(b''.join(client_frame(0x1, text.encode()) for text in (
        f'421["{event}","first",1.5]', '422["echo","a"]',
        f'423["{event}","second",1.5]', '424["echo","b"]')))
    start = time.monotonic()
    got = {}
    for _ in range(4):
        answer = r.text()
        got[answer[:3]] = (answer[3:], time.monotonic() - start)
    assert [got[n][0] for n in ('432', '434')] == ['["a"]', '["b"]'], got
    assert got['434'][1] < 1.3, got  # not behind the blocked ones
    first, second = (json.loads(got[n][0])[0] for n in ('431', '433'))
    assert first[:2] == ['first', 'first'], got
    assert second[:2] == ['second', 'second'], got
    assert max(got['431'][1], got['433'][1]) < 2.7, got  # side by side


def test_a_handler_that_computes_hands_the_loop_over_later(local, clients):
    # threading mode: a job that keeps its thread on the CPU (a broadcast
    # to thousands) keeps the loop longer than one that waits, as another
    # thread would only wait for the GIL; past Loop.RESCUE_COMPUTING_AFTER
    # the other clients go on
    a = clients(local.url, transports=['websocket'])
    b = clients(local.url, transports=['websocket'])
    answers = queue.Queue()
    a.emit('compute', 1.0, callback=answers.put)
    time.sleep(0.1)
    start = time.monotonic()
    trips = [b.call('echo', i, timeout=TIMEOUT) for i in range(5)]
    fast = time.monotonic() - start
    assert trips == list(range(5))
    assert fast < 0.6, fast  # not after the handler's second
    assert answers.get(timeout=TIMEOUT) == 'computed'


def test_a_flood_of_slow_events_runs_a_bounded_number_of_handlers(server,
                                                                 clients):
    # one client's 40 events, whose handlers each block 0.3 s, run at most
    # max_client_handlers at a time (the rest wait, its pongs do not: the
    # ping timeout is 1 s), while another client's round trips stay fast
    most = transport_app.MAX_HANDLERS
    a = clients(server.url, transports=['websocket'])
    b = clients(server.url, transports=['websocket'])
    answers = queue.Queue()
    start = time.monotonic()
    for _ in range(40):
        a.emit('hold', 0.3, callback=answers.put)
    trips = [b.call('echo', i, timeout=TIMEOUT) for i in range(20)]
    fast = time.monotonic() - start
    got = [answers.get(timeout=TIMEOUT) for _ in range(40)]
    held = time.monotonic() - start
    assert trips == list(range(20)) and got == ['held'] * 40
    assert fast < 1.0, fast
    assert server.state()['most_handlers'] == most
    assert held >= 40 / most * 0.3 * 0.9, held  # they did wait their turn
    assert a.eio.sid in server.state()['sessions']  # not dropped


def test_acknowledgements_overtake_the_events_held_behind_handlers(server,
                                                                  clients):
    # more events than max_client_handlers, whose handlers each wait for
    # the client's acknowledgement of a call(): the acknowledgements go
    # before the held events, or those handlers would wait out their 3 s
    a = clients(server.url, connect=False)
    a.on('question', lambda n: n * 2)
    a.connect(server.url, transports=['websocket'], wait_timeout=TIMEOUT)
    answers = queue.Queue()
    count = transport_app.MAX_HANDLERS + 4
    start = time.monotonic()
    for i in range(count):
        a.emit('ask_back', i, callback=answers.put)
    got = sorted(answers.get(timeout=TIMEOUT) for _ in range(count))
    assert got == [i * 2 for i in range(count)]
    assert time.monotonic() - start < 2.5


@pytest.mark.parametrize('value', [0, -1, 2.5, True, None])
def test_max_client_handlers_must_be_a_positive_integer(value):
    with pytest.raises(ValueError, match='max_client_handlers'):
        SocketIO(Flask(__name__), async_mode='threading',
                 max_client_handlers=value)


def test_a_worker_detached_for_a_handler_leaves_its_place_to_waiting_jobs():
    # a drain job that goes on with a handler (take_turn) may block for
    # long: jobs queued behind it at the soft maximum get a worker now
    workers = Workers('test-worker')
    workers.SOFT_MAX = 1
    release, ran = threading.Event(), queue.Queue()

    def handler_job():
        workers.detach()
        ran.put('handler')
        release.wait(TIMEOUT)
    try:
        workers.submit(handler_job)
        assert ran.get(timeout=TIMEOUT) == 'handler'
        workers.submit(lambda: ran.put('next'))
        assert ran.get(timeout=1) == 'next'  # without unstick()
        assert workers.count == 1  # the detached one is not counted
    finally:
        release.set()
    assert wait_until(lambda: workers.count == 2, TIMEOUT)


def test_event_handlers_reuse_idle_workers_in_fresh_contexts(server,
                                                              clients):
    c = clients(server.url, transports=['websocket'])
    if server.mode == 'threading':
        workers = Loop.shared().workers
        c.call('whereami', timeout=TIMEOUT)
        before = workers.count
    answers = [c.call('whereami', timeout=TIMEOUT) for _ in range(30)]
    # one after another: idle workers (threads, or greenlets) take them,
    # where stock starts a thread or greenlet per event
    assert max(runs for _, _, runs in answers) >= 10, answers
    assert all(seen == 'fresh' for _, seen, _ in answers), answers
    if server.mode == 'threading':
        assert workers.count <= before + 1
        # the loop's own thread (a worker's, leading it), or another
        assert {name for name, _, _ in answers} <= \
            {'flask-socketio-worker'}, answers


def test_repeated_probes_queue_nothing(local, raw):
    r = raw(local)
    r.send('40')
    assert r.text().startswith('40')
    session = local.socketio.server.eio.sockets[r.handshake['sid']]
    for _ in range(2000):
        r.send('2probe')
    for _ in range(2000):
        assert r.text() == '3probe'
    assert session.queue.qsize() == 0
    r.send('421["echo","ok"]')
    assert r.text() == '431["ok"]'


def polling_session(server, namespace=''):
    """A raw long-polling session connected to ``namespace``: its sid and
    the URL of its requests."""
    url = server.url + '/socket.io/?EIO=4&transport=polling'
    sid = json.loads(requests.get(url, timeout=TIMEOUT).text[1:])['sid']
    url += '&sid=' + sid
    ns = f'{namespace},' if namespace else ''
    assert requests.post(url, data='40' + ns, timeout=TIMEOUT).ok
    assert requests.get(url, timeout=TIMEOUT).text.startswith('40' + ns)
    return sid, url


def test_a_burst_reaches_a_polling_client_in_responses_it_can_read(server):
    # python-engineio's client refuses a payload of more than 16 packets
    # (and drops its connection): the burst comes in several responses
    sid, url = polling_session(server)
    assert requests.post(url, data='421["flood",40,10]',
                         timeout=TIMEOUT).ok
    seen = []
    while '431[40]' not in seen:
        payload = requests.get(url, timeout=TIMEOUT).text
        packets = payload.split('\x1e')
        assert len(packets) <= 16, len(packets)
        seen.extend(p for p in packets if p != '2')  # pings aside
    chunks = [json.loads(p[2:])[1]['n'] for p in seen
              if p.startswith('42["chunk"')]
    assert chunks == list(range(40))


def test_a_closing_polling_session_sends_everything_in_its_last_response(
        local):
    from engineio import packet as eio_packet
    sid, url = polling_session(local)
    session = local.socketio.server.eio.sockets[sid]
    for i in range(40):
        session.send(eio_packet.Packet(eio_packet.MESSAGE, f'2["n",{i}]'))
    assert len(session.poll()) == 16
    session.close(wait=False)  # no next request will come
    last = session.poll()
    assert [p.data for p in last[:-1]] == [
        f'2["n",{i}]' for i in range(16, 40)]
    assert last[-1].packet_type == eio_packet.CLOSE


def test_a_disconnect_handler_may_emit_from_the_send_that_ends_a_session(
        local):
    # a polling client that stopped answering pings is closed by the next
    # send to it, which runs the disconnect handler there and then; that
    # handler's own broadcast reaches the same session (nothing may hold a
    # lock of the session across the handler)
    sid, url = polling_session(local, '/polite')
    session = local.socketio.server.eio.sockets[sid]
    session.last_ping = time.time() - 1000
    sender = threading.Thread(target=local.socketio.emit,
                              args=('news', 1), kwargs={'namespace': '/polite'},
                              daemon=True)
    sender.start()
    sender.join(TIMEOUT)
    assert not sender.is_alive(), 'the send deadlocked'
    assert ('/polite', 'ping timeout') in local.reasons()


def test_an_upgrade_without_a_probe_is_refused_and_polling_goes_on(local):
    sid, url = polling_session(local)
    session = local.socketio.server.eio.sockets[sid]
    ws = socket.create_connection(('127.0.0.1', local.port), TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    ws.sendall((f'GET /socket.io/?EIO=4&transport=websocket&sid={sid} '
                'HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
                'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
                f'Sec-WebSocket-Key: {key}\r\n\r\n').encode())
    assert ws.recv(4096).startswith(b'HTTP/1.1 101 ')
    ws.sendall(client_frame(0x1, b'5'))  # UPGRADE with no probe first
    ws.settimeout(TIMEOUT)
    while ws.recv(4096):
        pass  # the server drops that WebSocket
    ws.close()
    assert wait_until(lambda: not session.upgrading, TIMEOUT)
    assert not session.upgraded and not session.closed
    assert requests.post(url, data='421["echo","x"]', timeout=TIMEOUT).ok
    got = requests.get(url, timeout=TIMEOUT).text
    while got == '6':  # no-ops the failed upgrade left
        got = requests.get(url, timeout=TIMEOUT).text
    assert got == '431["x"]'


# -- one Connection on a real TCP pair, the shared loop driving it ------------

class Events:
    sid = 'unit'

    def __init__(self):
        self.events = []

    def ws_event(self, kind, value):
        self.events.append((kind, value))

    def closes(self):
        return [v for k, v in self.events if k == 'close']


def tcp_pair():
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        served, _ = listener.accept()
    served.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return client, served


def test_a_reset_while_the_backlog_flushes_ends_the_session(ws):
    from flask_socketio.transport.connection import Connection
    client, served = tcp_pair()
    handler = Events()
    conn = Connection(served, handler, Loop.shared(), 100_000, 1 << 20)
    conn.core = ws.EngineIOWebSocket(100_000, 1 << 20)  # this build
    conn.start()
    frame = ws.encode_text('4' + 'x' * 60_000)
    for _ in range(12):
        assert conn.write(frame)
    assert conn.core.backlog
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack('ii', 1, 0))
    client.close()  # RST
    assert wait_until(lambda: handler.closes(), TIMEOUT)
    assert conn.closed and handler.closes()[0][0] == 1006


def test_a_connection_lost_at_the_flush_of_held_writes_ends_then(ws):
    # a handler of events read together writes to B, whose client has
    # reset meanwhile: the write waits for the loop's flush, whose send
    # fails; B's end reaches its handler then, not at the loop's next read
    from flask_socketio.transport.connection import Connection
    a_client, a_served = tcp_pair()
    b_client, b_served = tcp_pair()
    loop = Loop.shared()
    b = Events()
    conn_b = Connection(b_served, b, loop, 100_000, 1 << 20)
    conn_b.core = ws.EngineIOWebSocket(100_000, 1 << 20)  # this build

    class First(Events):
        held = None

        def ws_event(self, kind, value):
            super().ws_event(kind, value)
            if value == 'first':
                b_client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack('ii', 1, 0))
                b_client.close()  # RST
                time.sleep(0.003)  # (well within Loop.RESCUE_AFTER)
                conn_b.write(ws.encode_text('4held'))
                First.held = conn_b._corked

    a = First()
    conn_a = Connection(a_served, a, loop, 100_000, 1 << 20)
    conn_a.core = ws.EngineIOWebSocket(100_000, 1 << 20)
    conn_a.start()
    conn_b.start()
    a_client.sendall(client_frame(0x1, b'4first') +
                     client_frame(0x1, b'4second'))
    assert wait_until(lambda: len(a.events) == 2, TIMEOUT), a.events
    assert First.held, a.events  # it waited for the flush
    assert wait_until(lambda: b.closes(), 1.0), b.events
    assert conn_b.closed and b.closes()[0][0] == 1006
    a_client.close()


def test_answers_over_the_backlog_end_the_session_with_that_reason(ws):
    from flask_socketio.transport.connection import Connection
    client, served = tcp_pair()
    handler = Events()
    conn = Connection(served, handler, Loop.shared(), 100_000, 300_000)
    conn.core = ws.EngineIOWebSocket(100_000, 300_000)
    conn.start()
    big = ws.encode_text('4' + 'y' * 1000)
    while conn.core.backlog + len(big) <= 300_000:
        assert conn.write(big)
    time.sleep(0.5)  # the kernel's buffers fill: the backlog stays put
    small = ws.encode_text('4z')
    while conn.core.backlog + len(small) <= 300_000:
        assert conn.write(small)
    try:
        for _ in range(50):  # a ping's pong overflows the full backlog
            client.sendall(client_frame(0x9, b'p' * 100))
    except ConnectionError:
        pass  # the server has dropped the connection
    assert wait_until(lambda: handler.closes(), TIMEOUT)
    assert handler.closes() == [(1008, 'backlog exceeded')]
    assert conn.closed
    client.close()


def test_a_connection_aborted_before_it_starts_never_registers():
    from flask_socketio.transport.connection import Connection
    client, served = tcp_pair()
    handler = Events()
    loop = Loop.shared()
    conn = Connection(served, handler, loop, 100_000, 1 << 20)
    fd = conn.fd
    conn.abort()
    other_client, other = tcp_pair()  # may take the same descriptor
    conn.start(b'late')
    assert loop._connections.get(fd) is not conn
    assert wait_until(lambda: handler.closes(), TIMEOUT)
    for s in (client, other_client, other):
        s.close()


def test_an_engineio_close_packet_is_a_client_disconnect(server, raw):
    r = raw(server)
    r.send('40')
    assert r.text().startswith('40')
    before = len(server.reasons())
    r.send('1')  # Engine.IO close, no Socket.IO disconnect first
    assert r.close_code() == 1000
    assert wait_until(lambda: 'client disconnect' in server.reasons()[before:],
                      TIMEOUT)


def test_a_session_closed_during_its_upgrade_never_switches(local):
    from flask_socketio import _speedups
    sid, url = polling_session(local)
    session = local.socketio.server.eio.sockets[sid]
    ws = socket.create_connection(('127.0.0.1', local.port), TIMEOUT)
    key = base64.b64encode(os.urandom(16)).decode()
    ws.sendall((f'GET /socket.io/?EIO=4&transport=websocket&sid={sid} '
                'HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'
                'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
                f'Sec-WebSocket-Key: {key}\r\n\r\n').encode())
    assert ws.recv(4096).startswith(b'HTTP/1.1 101 ')
    ws.sendall(client_frame(0x1, b'2probe'))
    assert wait_until(lambda: session._probed, TIMEOUT)
    # the server ends the session as the client's UPGRADE arrives
    session.close(wait=False)
    session.ws_event(_speedups.websocket.EV_UPGRADE, None)
    assert session._ws is None and session.closed
    ws.settimeout(TIMEOUT)
    while ws.recv(4096):
        pass  # the probe's WebSocket is dropped with the session
    ws.close()


@pytest.mark.parametrize('value, native', [
    ('', True), ('native', True), ('engine', False)])
def test_the_switch_picks_the_transport(monkeypatch, value, native):
    monkeypatch.setenv('FLASK_SOCKETIO_TRANSPORT', value)
    socketio = SocketIO(Flask(__name__), async_mode='threading')
    assert socketio.server.eio.native is native


def test_an_unknown_switch_value_is_refused(monkeypatch):
    monkeypatch.setenv('FLASK_SOCKETIO_TRANSPORT', 'fast')
    with pytest.raises(ValueError, match='FLASK_SOCKETIO_TRANSPORT'):
        SocketIO(Flask(__name__), async_mode='threading')
