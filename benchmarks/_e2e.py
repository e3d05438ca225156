"""What the end-to-end benchmarks share: a server app run by a given
interpreter (this project's or stock Flask-SocketIO's) on 127.0.0.1."""
import contextlib
import os
import socket
import subprocess
import time

_TICK = os.sysconf('SC_CLK_TCK')


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


def cpu_seconds(pid):
    """CPU time (user + system, all threads) process ``pid`` has used."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def pin(server_pid):
    """On two cores or more: the server on the first, this process (the
    load generator) on the second, so neither takes the other's time."""
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2:
        os.sched_setaffinity(server_pid, {cores[0]})
        os.sched_setaffinity(0, {cores[1]})


@contextlib.contextmanager
def serving(python, source):
    """Run ``source`` (which serves on the port given as its first
    argument) under ``python``; yield the port and the server's pid."""
    port = free_port()
    server = subprocess.Popen([python, '-c', source, str(port)],
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    pin(server.pid)
    try:
        wait_for(port)
        yield port, server.pid
    finally:
        server.terminate()
        server.wait(10)


def compare(measure, ours, stock, rounds, unit):
    """Alternate ``measure(python)`` between the two interpreters for
    ``rounds`` rounds (stock first, then ours first, and so on).  ``measure`` returns (items per second, server CPU
    seconds per item); print each run and the ratios of the means (above 1:
    this project is faster, or uses less CPU)."""
    runs = {'stock': [], 'ours': []}
    order = [('stock', stock), ('ours', ours)]
    for _ in range(rounds):
        for name, python in order:
            rate, cpu = measure(python)
            runs[name].append((rate, cpu))
            print(f'{name:5} {rate:9.0f} {unit}/s, server CPU '
                  f'{cpu * 1e6:7.1f} µs per {unit}', flush=True)
        order.reverse()  # neither always goes first

    def mean(name, i):
        return sum(run[i] for run in runs[name]) / len(runs[name])
    print(f'ours / stock: throughput {mean("ours", 0) / mean("stock", 0):.2f}'
          f', CPU per {unit} {mean("stock", 1) / mean("ours", 1):.2f}× less')
