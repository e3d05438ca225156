"""End-to-end broadcast fan-out: this package against stock Flask-SocketIO.

    python benchmarks/e2e_broadcast.py OURS_PYTHON STOCK_PYTHON
        [--clients 100] [--seconds 8] [--rounds 2] [--window 4]
        [--mode threading|gevent|eventlet] [--node]

Each interpreter must have its ``flask_socketio`` installed (this project
in one virtual environment, ``pip install flask-socketio`` in another).
The same app (threading mode unless ``--mode`` says otherwise; the
interpreters then need gevent or eventlet) runs under each in turn, alternating, on
127.0.0.1.  The load generator (this script: asyncio on uvloop, raw
Engine.IO/Socket.IO over the callback-driven client of ``_rawws``, so the
clients cost little next to the server) connects ``--clients`` websocket clients and one more that sends ``bcast`` events,
each of which the server broadcasts to every client but the sender,
keeping at most ``--window`` broadcasts undelivered (server pinned to one core,
this script to another).  The output is
deliveries (messages received, all clients) per second and the server's
CPU time per delivery for each run, and the ratios of the means.  On a
small machine the load generator competes with the server for the CPU, so
the CPU per delivery is the steadier measure.  Needs uvloop (the ``bench``
extra).
"""
import argparse
import asyncio
import functools
import json
import sys
import time

from _e2e import add_arguments, commands, compare, cpu_seconds, serving
from e2e_echo import connected

HANDLERS = '''
@sio.on('bcast')
def bcast(data):
    emit('msg', data, broadcast=True, include_self=False)
'''
PAYLOAD = {'user': 'ann', 'room': 'lobby', 'text': 'hello everyone',
           'n': 42}
MAX_BROADCASTS = 200_000  # a bound on top of the time limit
OPENING = 50  # handshakes in progress at once


class Load:
    """The receivers count what they get; the sender sends a broadcast
    whenever fewer than ``window`` are undelivered (all driven by the
    messages: no coroutine per message)."""

    def __init__(self, clients, window):
        self.clients = clients
        self.window = window
        self.delivered = 0
        self.sent = 0
        self.sender = None
        self.frame = '42' + json.dumps(['bcast', PAYLOAD],
                                       separators=(',', ':'))
        self.stop = 0.0
        self.finished = None

    def receive(self, ws, frame):
        if frame == '2':
            ws.send('3')  # pong
        elif frame.startswith('42["msg"'):
            self.delivered += 1
            self.pump()

    def pump(self):
        """Send while the window allows, until the time or the bound."""
        if self.finished.done():
            return
        while self.delivered >= (self.sent - self.window) * self.clients:
            if time.monotonic() >= self.stop or \
                    self.sent >= MAX_BROADCASTS:
                self.finished.set_result(None)
                return
            self.sender.send(self.frame)
            self.sent += 1

    async def run(self, port, pid, seconds):
        self.finished = asyncio.get_running_loop().create_future()
        opening = asyncio.Semaphore(OPENING)  # a few handshakes at a time,
                                              # as real clients arrive

        async def one():
            async with opening:
                return await connected(port)

        sockets = []
        try:
            sockets = list(await asyncio.gather(
                *(one() for _ in range(self.clients + 1))))
            self.sender = sockets.pop()
            self.sender.on_message = functools.partial(self.receive,
                                                       self.sender)
            for ws in sockets:
                ws.on_message = functools.partial(self.receive, ws)
            start, cpu = time.monotonic(), cpu_seconds(pid)
            self.stop = start + seconds
            self.pump()
            while not self.finished.done():  # ends at the stop time even
                await asyncio.wait([self.finished], timeout=1)  # if stalled
                if time.monotonic() >= self.stop + 1 and \
                        not self.finished.done():
                    self.finished.set_result(None)
            elapsed, cpu = time.monotonic() - start, cpu_seconds(pid) - cpu
        finally:
            for ws in sockets + [self.sender]:
                if ws is not None:
                    ws.close()
        return {'rate': self.delivered / elapsed,
                'cpu': cpu / self.delivered}


def measure(command, clients, seconds, window):
    import uvloop
    with serving(command) as (port, pid):
        return uvloop.run(Load(clients, window).run(port, pid, seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument('--clients', type=int, default=100)
    parser.add_argument('--seconds', type=float, default=8)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--window', type=int, default=4)
    args = parser.parse_args()
    run(args)


def run(args):
    """Every run's results, by server (see ``_e2e.compare``)."""
    return compare(lambda command: measure(command, args.clients,
                                           args.seconds, args.window),
                   commands(args, HANDLERS), args.rounds, 'delivery')


if __name__ == '__main__':
    sys.exit(main())
