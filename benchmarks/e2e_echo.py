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
``websockets``) connects ``--clients`` websocket clients, each of which
makes ``--trips`` sequential round trips (or fewer, when ``--seconds``
runs out): acknowledged calls whose handler returns the argument
(``--reply ack``, the default), or events whose handler emits it back to
the sender (``--reply emit``).  The output is round trips per second, the
server's CPU time per round trip and the latency percentiles of each run,
and the ratios of the means.  Needs the ``bench`` extra.
"""
import argparse
import asyncio
import json
import sys
import time

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


async def client(url, trips, stop, ready, go, latencies, ends, reply,
                 event='echo', payload=PAYLOAD):
    """One client's round trips: ``event`` with ``payload``, answered by
    an ack (``reply='ack'``) or by the event named ``reply``.  ``stop``: a
    list whose one item, set when ``go`` is, ends them at that time."""
    import websockets
    async with websockets.connect(url, compression=None,
                                  ping_interval=None) as ws:
        assert (await ws.recv())[0] == '0'  # Engine.IO open
        await ws.send('40')                 # Socket.IO connect
        assert (await ws.recv()).startswith('40')
        ready.release()
        await go.wait()
        body = json.dumps([event, payload], separators=(',', ':'))
        back = '42' + json.dumps([reply])[:-1]  # '42["name"'

        for i in range(trips):
            if time.monotonic() >= stop[0]:
                break
            if reply == 'ack':
                answer = '43' + str(i) + '['
                sent = time.perf_counter()
                await ws.send('42' + str(i) + body)
            else:
                answer = back
                sent = time.perf_counter()
                await ws.send('42' + body)
            while True:
                frame = await asyncio.wait_for(ws.recv(), 30)
                if frame == '2':
                    await ws.send('3')  # pong
                elif frame.startswith(answer):
                    break
            latencies.append(time.perf_counter() - sent)
        ends.append(time.monotonic())  # before the close handshake


async def load(port, pid, clients, trips, seconds, reply='ack',
               event='echo', payload=PAYLOAD):
    url = f'ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket'
    ready, go, latencies, ends = asyncio.Semaphore(0), asyncio.Event(), [], []
    stop = [0.0]
    tasks = [asyncio.ensure_future(client(url, trips, stop, ready, go,
                                          latencies, ends, reply, event,
                                          payload))
             for _ in range(clients)]
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 30)
    start, cpu = time.monotonic(), cpu_seconds(pid)
    stop[0] = start + seconds
    go.set()
    while len(ends) < clients:
        await asyncio.sleep(0.01)
    elapsed, cpu = max(ends) - start, cpu_seconds(pid) - cpu
    await asyncio.gather(*tasks)
    latencies.sort()
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
