"""End-to-end echo throughput: this package against stock Flask-SocketIO.

    python benchmarks/e2e_echo.py OURS_PYTHON STOCK_PYTHON [--clients 8]
        [--seconds 8] [--rounds 2]

Each interpreter must have its ``flask_socketio`` installed (this project
in one virtual environment, ``pip install flask-socketio`` in another).
The same threading-mode echo app runs under each in turn, alternating, on
127.0.0.1; websocket clients (python-socketio, from the interpreter running
this script) do sequential ``call()`` round trips for a bounded time.  The
output is round trips per second and the server's CPU time per round trip
for each run, and the ratios of the means.
"""
import argparse
import sys
import threading
import time

from _e2e import compare, cpu_seconds, serving

SERVER = '''
import sys
from flask import Flask
from flask_socketio import SocketIO
app = Flask(__name__)
sio = SocketIO(app, async_mode='threading')
@sio.on('echo')
def echo(data):
    return data
sio.run(app, port=int(sys.argv[1]), allow_unsafe_werkzeug=True)
'''
PAYLOAD = {'user': 'ann', 'text': 'hello there', 'items': list(range(20))}


def measure(python, clients, seconds):
    import socketio
    with serving(python, SERVER) as (port, pid):
        peers = []
        for _ in range(clients):
            peer = socketio.Client()
            peer.connect(f'http://127.0.0.1:{port}', transports=['websocket'],
                         wait_timeout=10)
            peers.append(peer)
        counts = [0] * clients
        stop = time.monotonic() + seconds

        def work(i):
            while time.monotonic() < stop:
                peers[i].call('echo', PAYLOAD, timeout=10)
                counts[i] += 1
        threads = [threading.Thread(target=work, args=(i,))
                   for i in range(clients)]
        start, cpu = time.monotonic(), cpu_seconds(pid)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed, cpu = time.monotonic() - start, cpu_seconds(pid) - cpu
        for peer in peers:
            peer.disconnect()
        return sum(counts) / elapsed, cpu / sum(counts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ours')
    parser.add_argument('stock')
    parser.add_argument('--clients', type=int, default=8)
    parser.add_argument('--seconds', type=float, default=8)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    compare(lambda python: measure(python, args.clients, args.seconds),
            args.ours, args.stock, args.rounds, 'round trip')

if __name__ == '__main__':
    sys.exit(main())
