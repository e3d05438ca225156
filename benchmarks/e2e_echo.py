"""End-to-end echo round trips: this package against stock Flask-SocketIO.

    python benchmarks/e2e_echo.py OURS_PYTHON STOCK_PYTHON [--clients 50]
        [--trips 200] [--seconds 30] [--rounds 2] [--reply ack|emit]
        [--mode threading|gevent|eventlet] [--node]

Each interpreter must have its ``flask_socketio`` installed (this project
in one virtual environment, ``pip install flask-socketio`` in another).
The same echo app (an event whose handler returns its argument; threading
mode unless ``--mode`` says otherwise) runs under each in turn,
alternating, on 127.0.0.1, pinned to one core.  The load generator (this
script, on the other core: asyncio on uvloop, raw Engine.IO/Socket.IO over
the callback-driven WebSocket client of ``_rawws``) connects ``--clients``
websocket clients, each of which makes 20 unmeasured round trips, then
``--trips`` sequential ones (or fewer, when ``--seconds`` runs out):
acknowledged calls whose handler returns the argument (``--reply ack``,
the default), or events whose handler emits it back to the sender
(``--reply emit``).  The output is round trips per second, the
server's CPU time per round trip and the latency percentiles of each run,
and the ratios of the means.  Needs the ``bench`` extra.
"""
import argparse
import asyncio
import json
import sys
import time

import _rawws
from _e2e import add_arguments, commands, compare, cpu_seconds, serving

HANDLERS = {
    'ack': '''
@sio.on('echo')
def echo(data):
    return data
''',
    'emit': '''
@sio.on('echo')
def echo(data):
    emit('echo', data)
''',
}
PAYLOAD = {'user': 'ann', 'text': 'hello there', 'items': list(range(20))}
WARM_UP = 20  # unmeasured round trips per client before the measured ones
IDS = 1000  # distinct ack ids (and frames) per client


class Trips:
    """One client's sequential round trips, driven by its messages (no
    coroutine per message): ``event`` with ``payload``, answered by an ack
    (``reply='ack'``) or by the event named ``reply``, until ``trips`` are
    made or the run's ``stop`` time passes."""

    def __init__(self, ws, trips, run, reply, event, payload):
        self.ws, self.trips, self.run = ws, trips, run
        body = json.dumps([event, payload], separators=(',', ':'))
        # the frames and the starts of their answers made before the run
        # (the load generator's own cost per round trip bounds what it
        # can measure); ack ids repeat after IDS, one call being out at a
        # time
        if reply == 'ack':
            self.frames = [ws.text_frame(f'42{i}{body}')
                           for i in range(min(trips, IDS))]
            self.answers = [f'43{i}[' for i in range(len(self.frames))]
        else:
            self.frames = [ws.text_frame('42' + body)]
            self.answers = ['42' + json.dumps([reply])[:-1]]
        self.done = asyncio.get_running_loop().create_future()
        self.i = 0
        self.answer = None
        self.sent = 0.0

    def start(self):
        self.ws.on_message = self.on_message
        self.next()

    def next(self):
        if self.i >= self.trips or time.monotonic() >= self.run.stop:
            self.run.ends.append(time.monotonic())  # before the close
            self.done.set_result(None)
            return
        i = self.i % len(self.frames)
        self.answer = self.answers[i]
        self.i += 1
        self.sent = time.perf_counter()
        self.ws.send_frame(self.frames[i])

    def on_message(self, frame):
        if frame == '2':
            self.ws.send('3')  # pong
        elif self.answer is not None and frame.startswith(self.answer):
            self.run.latencies.append(time.perf_counter() - self.sent)
            self.answer = None
            self.next()


class _Run:
    def __init__(self):
        self.stop = 0.0
        self.ends = []
        self.latencies = []


async def connected(port):
    """A WebSocket client with its Engine.IO session and its Socket.IO
    connection to ``/`` open."""
    ws = await _rawws.connect(
        port, '/socket.io/?EIO=4&transport=websocket')
    frames = asyncio.Queue()
    ws.on_message = frames.put_nowait
    assert (await asyncio.wait_for(frames.get(), 30))[0] == '0'  # open
    ws.send('40')                                      # Socket.IO connect
    while not (frame := await asyncio.wait_for(frames.get(), 30)) \
            .startswith('40'):
        if frame == '2':
            ws.send('3')
    return ws


async def load(port, pid, clients, trips, seconds, reply='ack',
               event='echo', payload=PAYLOAD):
    run = _Run()
    sockets = []
    try:
        for _ in range(clients):
            sockets.append(await connected(port))
        # a few unmeasured round trips first: each server's first events
        # (a JIT, the first handler's context) are not its pace
        warm = _Run()
        warm.stop = time.monotonic() + seconds
        drivers = [Trips(ws, WARM_UP, warm, reply, event, payload)
                   for ws in sockets]
        for driver in drivers:
            driver.start()
        await asyncio.wait_for(
            asyncio.gather(*(d.done for d in drivers)), seconds + 30)
        drivers = [Trips(ws, trips, run, reply, event, payload)
                   for ws in sockets]
        start, cpu = time.monotonic(), cpu_seconds(pid)
        run.stop = start + seconds
        for driver in drivers:
            driver.start()
        await asyncio.wait_for(
            asyncio.gather(*(d.done for d in drivers)), seconds + 30)
        elapsed, cpu = max(run.ends) - start, cpu_seconds(pid) - cpu
    finally:
        for ws in sockets:
            ws.close()
    latencies = sorted(run.latencies)
    n = len(latencies)
    if not n:
        raise RuntimeError('no round trip completed')
    return {'rate': n / elapsed, 'cpu': cpu / n,
            'p50': latencies[n // 2],
            'p99': latencies[min(n - 1, n * 99 // 100)]}


def measure(command, clients, trips, seconds, reply, event='echo',
            payload=PAYLOAD):
    """One server's run; ``reply``: ``'ack'`` or the event it answers
    with."""
    import uvloop
    with serving(command) as (port, pid):
        return uvloop.run(load(port, pid, clients, trips, seconds, reply,
                               event, payload))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--trips', type=int, default=200)
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--reply', choices=sorted(HANDLERS), default='ack')
    args = parser.parse_args()
    run(args)


def run(args):
    """Every run's results, by server (see ``_e2e.compare``)."""
    reply = 'ack' if args.reply == 'ack' else 'echo'  # emit: 'echo' back
    return compare(lambda command: measure(command, args.clients, args.trips,
                                           args.seconds, reply),
                   commands(args, HANDLERS[args.reply]), args.rounds,
                   'round trip')


if __name__ == '__main__':
    sys.exit(main())
