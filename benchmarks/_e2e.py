"""What the end-to-end benchmarks share: a server app run by a given
interpreter (this project's or stock Flask-SocketIO's) on 127.0.0.1."""
import contextlib
import socket
import subprocess
import time


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


@contextlib.contextmanager
def serving(python, source):
    """Run ``source`` (which serves on the port given as its first
    argument) under ``python``; yield the port."""
    port = free_port()
    server = subprocess.Popen([python, '-c', source, str(port)],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_for(port)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def compare(measure, ours, stock, rounds, unit):
    """Alternate ``measure(python)`` between the two interpreters for
    ``rounds`` rounds, print each rate and the ratio of the means."""
    rates = {'stock': [], 'ours': []}
    for _ in range(rounds):
        for name, python in (('stock', stock), ('ours', ours)):
            rate = measure(python)
            rates[name].append(rate)
            print(f'{name:5} {rate:9.0f} {unit}', flush=True)
    mean = {k: sum(v) / len(v) for k, v in rates.items()}
    print(f'ours / stock: {mean["ours"] / mean["stock"]:.2f}')
