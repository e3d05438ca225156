"""End-to-end echo throughput: this package against stock Flask-SocketIO.

    python benchmarks/e2e_echo.py OURS_PYTHON STOCK_PYTHON [--clients 8]
        [--seconds 8] [--rounds 2]

Each interpreter must have its ``flask_socketio`` installed (this project
in one virtual environment, ``pip install flask-socketio`` in another).
The same threading-mode echo app runs under each in turn, alternating, on
127.0.0.1; websocket clients (python-socketio, from the interpreter running
this script) do sequential ``call()`` round trips for a bounded time.  The
output is round trips per second for each run and the ratio of the means.
"""
import argparse
import socket
import subprocess
import sys
import threading
import time

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


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f'no server on port {port}')


def measure(python, clients, seconds):
    import socketio
    port = free_port()
    server = subprocess.Popen([python, '-c', SERVER, str(port)],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
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
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        rate = sum(counts) / (time.monotonic() - start)
        for peer in peers:
            peer.disconnect()
        return rate
    finally:
        server.terminate()
        server.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ours')
    parser.add_argument('stock')
    parser.add_argument('--clients', type=int, default=8)
    parser.add_argument('--seconds', type=float, default=8)
    parser.add_argument('--rounds', type=int, default=2)
    args = parser.parse_args()
    rates = {'stock': [], 'ours': []}
    for _ in range(args.rounds):
        for name in ('stock', 'ours'):
            rate = measure(getattr(args, name), args.clients, args.seconds)
            rates[name].append(rate)
            print(f'{name:5} {rate:8.0f} round trips/s', flush=True)
    mean = {k: sum(v) / len(v) for k, v in rates.items()}
    print(f'ours / stock: {mean["ours"] / mean["stock"]:.2f}')


if __name__ == '__main__':
    sys.exit(main())
