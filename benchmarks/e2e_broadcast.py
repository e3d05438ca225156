"""End-to-end broadcast fan-out: this package against stock Flask-SocketIO.

    python benchmarks/e2e_broadcast.py OURS_PYTHON STOCK_PYTHON
        [--clients 100] [--seconds 8] [--rounds 2] [--window 4]
        [--mode threading|gevent|eventlet] [--node]

Each interpreter must have its ``flask_socketio`` installed (this project
in one virtual environment, ``pip install flask-socketio`` in another).
The same app (threading mode unless ``--mode`` says otherwise; the
interpreters then need gevent or eventlet) runs under each in turn, alternating, on
127.0.0.1.  The load generator (this script: asyncio on uvloop, raw
Engine.IO/Socket.IO over ``websockets``, so the clients cost little next to
the server) connects ``--clients`` websocket clients and one more that sends ``bcast`` events,
each of which the server broadcasts to every client but the sender,
keeping at most ``--window`` broadcasts undelivered (server pinned to one core,
this script to another).  The output is
deliveries (messages received, all clients) per second and the server's
CPU time per delivery for each run, and the ratios of the means.  On a
small machine the load generator competes with the server for the CPU, so
the CPU per delivery is the steadier measure.  Needs ``pip install uvloop
websockets`` (the ``bench`` extra).
"""
import argparse
import asyncio
import json
import sys
import time

from _e2e import add_arguments, commands, compare, cpu_seconds, serving

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
    def __init__(self, clients, window):
        self.clients = clients
        self.window = window
        self.delivered = 0
        self.progress = asyncio.Event()

    async def client(self, url, ready, done, opening):
        import websockets
        await opening.acquire()  # a few handshakes at a time, as real
        try:                     # clients arrive, not thousands at once
            ws = await websockets.connect(url, max_size=None,
                                          compression=None,
                                          ping_interval=None)
            assert (await ws.recv())[0] == '0'  # Engine.IO open
            await ws.send('40')                 # Socket.IO connect
            assert (await ws.recv()).startswith('40')
        finally:
            opening.release()
        async with ws:
            ready.release()
            while not done.is_set():
                try:
                    frame = await asyncio.wait_for(ws.recv(), 1)
                except asyncio.TimeoutError:
                    continue
                if frame == '2':
                    await ws.send('3')  # pong
                elif frame.startswith('42["msg"'):
                    self.delivered += 1
                    self.progress.set()
            return ws

    async def run(self, port, pid, seconds):
        url = f'ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket'
        ready = asyncio.Semaphore(0)
        done = asyncio.Event()
        opening = asyncio.Semaphore(OPENING)
        tasks = [asyncio.ensure_future(self.client(url, ready, done, opening))
                 for _ in range(self.clients)]
        for _ in range(self.clients):
            await asyncio.wait_for(ready.acquire(), 30)
        import websockets
        frame = '42' + json.dumps(['bcast', PAYLOAD], separators=(',', ':'))
        async with websockets.connect(url, compression=None,
                                      ping_interval=None) as sender:
            await sender.recv()
            await sender.send('40')
            await sender.recv()
            start, cpu = time.monotonic(), cpu_seconds(pid)
            stop = start + seconds
            sent = 0
            while time.monotonic() < stop and sent < MAX_BROADCASTS:
                if self.delivered >= (sent - self.window) * self.clients:
                    await sender.send(frame)
                    sent += 1
                    continue
                self.progress.clear()
                try:
                    await asyncio.wait_for(self.progress.wait(), 1)
                except asyncio.TimeoutError:
                    pass
            elapsed, cpu = time.monotonic() - start, cpu_seconds(pid) - cpu
            delivered = self.delivered
        done.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {'rate': delivered / elapsed, 'cpu': cpu / delivered}


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
