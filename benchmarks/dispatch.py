"""In-process cost of one event's dispatch on this package's transport.

    python benchmarks/dispatch.py [--reply ack|emit] [--events 50000]
        [--instructions]

A native session of a threading-mode server is fed Socket.IO events as its
WebSocket connection would hand them over (``_Session.ws_event``, in the
place of a drain job whose inbox holds nothing more), and the reply goes
to a connection that only counts it: the path from the message to the
reply's write (packet decoding, python-socketio's dispatch, the Flask
context, the handler, the reply's encoding), without sockets, the loop or
the load generator.  It prints microseconds per event; ``--instructions``
runs it twice under callgrind (``valgrind``; with 0 and with ``--events``
events) and prints instructions per event, which are repeatable where
time is not.  It reaches into the transport's internals (this is a
developer's tool, not a benchmark of the suite); ``tests/test_bench_app.py``
runs it so that it breaks loudly when they move.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time


def build(reply):
    """A server with one native session on a counting connection; the
    function that feeds it one event."""
    from flask import Flask
    from werkzeug.test import EnvironBuilder

    from flask_socketio import SocketIO, emit
    from flask_socketio import _engine
    from flask_socketio._speedups import websocket

    app = Flask(__name__)
    socketio = SocketIO(app, async_mode='threading')

    if reply == 'ack':
        @socketio.on('echo')
        def echo(data):
            return data
    else:
        @socketio.on('echo')
        def echo(data):
            emit('echo', data)

    class Counting:
        """The connection: takes the reply's frame and counts it; its drain
        job's side of take_turn: nothing more in its inbox."""
        closing = closed = False
        writes = 0
        lock = threading.Lock()
        _inbox = ()
        _draining = True
        _turn = None

        class loop:
            running = staticmethod(threading.get_ident)

            @staticmethod
            def detach():
                pass

        def write(self, frame):
            Counting.writes += 1
            return True

        def job_started(self):
            pass

        def job_ended(self):
            pass

        def close(self, *args):
            pass

    eio = socketio.server.eio
    sid = eio.generate_id()
    session = _engine._Session(eio, sid)
    eio.sockets[sid] = session
    session._ws = Counting()
    session.connected = session.upgraded = True
    environ = EnvironBuilder(
        '/socket.io/', query_string='EIO=4&transport=websocket').get_environ()
    eio._trigger_event('connect', sid, environ, run_async=False)
    session.ws_event(websocket.EV_MESSAGE, '0')  # the Socket.IO connect
    body = json.dumps(['echo', {'user': 'ann', 'text': 'hello there',
                                'items': list(range(20))}],
                      separators=(',', ':'))
    messages = [('2%d%s' % (i, body)) if reply == 'ack' else '2' + body
                for i in range(1000)]
    conn, me = session._ws, threading.get_ident()

    def feed(count):
        for i in range(count):
            conn._turn = me  # as the drain job sets it
            session.ws_event(websocket.EV_MESSAGE, messages[i % 1000])
    return feed, Counting


def instructions(args):
    """Instructions per event, from two runs under callgrind."""
    counts = []
    for events in (0, args.events):
        run = subprocess.run(
            ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
             sys.executable, os.path.abspath(__file__), '--reply',
             args.reply, '--events', str(events), '--warm', '0'],
            capture_output=True, text=True, env=dict(os.environ,
                                                     PYTHONHASHSEED='0'))
        line = [li for li in run.stderr.splitlines() if 'Collected' in li]
        if run.returncode or not line:
            raise SystemExit(run.stderr[-2000:])
        counts.append(int(line[0].split()[-1]))
    return (counts[1] - counts[0]) / args.events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--reply', choices=['ack', 'emit'], default='ack')
    parser.add_argument('--events', type=int, default=50_000)
    parser.add_argument('--warm', type=int, default=2000,
                        help='unmeasured events first')
    parser.add_argument('--instructions', action='store_true',
                        help='count instructions per event (callgrind)')
    args = parser.parse_args()
    if args.instructions:
        args.events = min(args.events, 4000)  # callgrind is ~50x slower
        print(f'{args.reply}: {instructions(args):,.0f} instructions per '
              f'event')
        return
    feed, counting = build(args.reply)
    feed(args.warm)
    start = time.perf_counter()
    feed(args.events)
    elapsed = time.perf_counter() - start
    if counting.writes != args.warm + args.events + 1:  # + the connect
        raise SystemExit(f'{counting.writes} replies written for '
                         f'{args.warm + args.events} events')
    if args.events:
        print(f'{args.reply}: {elapsed / args.events * 1e6:.2f} µs per '
              f'event')


if __name__ == '__main__':
    main()
