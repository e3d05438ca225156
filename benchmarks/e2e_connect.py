"""End-to-end cost of a connection: this package against stock
Flask-SocketIO.

    python benchmarks/e2e_connect.py OURS_PYTHON STOCK_PYTHON
        [--clients 500] [--rounds 1] [--mode threading|gevent|eventlet]
        [--node]

The echo app of e2e_echo.py runs under each interpreter in turn (server
pinned to one core, this script to another).  This script (asyncio on
uvloop, raw Engine.IO/Socket.IO over ``websockets``) opens ``--clients``
websocket connections, each through the Socket.IO connect, and reports the
server's resident memory per connection (KB, from /proc) and its thread
count with them open.  Run it under ``ulimit -n`` above twice the clients.
With ``FLASK_SOCKETIO_TRANSPORT=engine`` in the environment, this
package's server runs on python-engineio's transport instead of its own.
"""
import argparse
import asyncio
import os
import sys

from _e2e import add_arguments, commands, serving
from e2e_echo import HANDLERS as ECHO  # the same echo app


def rss_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])


def threads(pid):
    return len(os.listdir(f'/proc/{pid}/task'))


async def connect(url):
    import websockets
    ws = await asyncio.wait_for(websockets.connect(
        url, compression=None, ping_interval=None), 30)
    assert (await ws.recv())[0] == '0'   # Engine.IO open
    await ws.send('40')                  # Socket.IO connect
    assert (await ws.recv()).startswith('40')
    return ws


async def measure(port, pid, clients):
    url = f'ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket'
    first = await connect(url)  # the app's first connection warms it up
    await asyncio.sleep(1)
    rss, before = rss_kb(pid), threads(pid)
    opened = [await connect(url) for _ in range(clients)]
    await asyncio.sleep(2)
    per_connection = (rss_kb(pid) - rss) / clients
    during = threads(pid)
    for ws in opened + [first]:
        await ws.close()
    return per_connection, before, during


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.add_argument('--clients', type=int, default=500)
    parser.add_argument('--rounds', type=int, default=1)
    args = parser.parse_args()
    run(args)


def run(args):
    """Every run's results, by server: ``kb`` per connection, ``threads``
    with them open."""
    import uvloop
    runs = {}
    for _ in range(args.rounds):
        for name, command in commands(args, ECHO['ack']):
            with serving(command) as (port, pid):
                kb, before, during = uvloop.run(
                    measure(port, pid, args.clients))
            print(f'{name:5} {args.clients} connections: {kb:6.1f} KB each,'
                  f' threads {before} -> {during}', flush=True)
            runs.setdefault(name, []).append({'kb': kb, 'threads': during})
    return runs


if __name__ == '__main__':
    sys.exit(main())
