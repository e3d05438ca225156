"""What the end-to-end benchmarks share: a server app run by a given
interpreter (this project's or stock Flask-SocketIO's) on 127.0.0.1."""
import contextlib
import os
import socket
import subprocess
import time

_TICK = os.sysconf('SC_CLK_TCK')


MODES = ('threading', 'gevent', 'eventlet')

_PRELUDE = {
    'threading': '',
    'gevent': 'from gevent import monkey\nmonkey.patch_all()\n',
    'eventlet': 'import eventlet\neventlet.monkey_patch()\n',
}


def server_source(mode, handlers):
    """A server script: the app with ``handlers`` (source defining them on
    ``sio``) in async ``mode``, monkey-patched first where the mode wants
    it, served by ``socketio.run()`` on the port given as its argument."""
    unsafe = ', allow_unsafe_werkzeug=True' if mode == 'threading' else ''
    return (_PRELUDE[mode] +
            'import sys\n'
            'from flask import Flask\n'
            'from flask_socketio import SocketIO, emit\n'
            'app = Flask(__name__)\n'
            f'sio = SocketIO(app, async_mode={mode!r})\n' +
            handlers +
            f'sio.run(app, port=int(sys.argv[1]){unsafe})\n')


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


#: the cores this process may use, as it started (pin() narrows its own)
CORES = sorted(os.sched_getaffinity(0))


def pin(server_pid):
    """On two cores or more: the server on the first, this process (the
    load generator) on the second, so neither takes the other's time.
    (The cores are the ones this process started with: after the first
    pin its own affinity is one core, which every server started later
    inherits.)"""
    if len(CORES) >= 2:
        os.sched_setaffinity(server_pid, {CORES[0]})
        os.sched_setaffinity(0, {CORES[1]})


NODE_SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           'node', 'server.js')


def commands(args, handlers):
    """The servers to compare, from the scripts' common arguments: name and
    command (the port is appended), stock first; this package on its pure
    twins with ``--pure``; Node's socket.io (``benchmarks/node``, ``npm ci``
    there first) with ``--node``."""
    source = server_source(args.mode, handlers)
    found = [('stock', [args.stock, '-c', source])]
    if getattr(args, 'pure', False):
        found.append(('pure', ['env', 'FLASK_SOCKETIO_NO_EXTENSIONS=1',
                               args.ours, '-c', source]))  # env execs: one pid
    found.append(('ours', [args.ours, '-c', source]))
    if args.node:
        found.append(('node', ['node', NODE_SERVER]))
    return [(name, command) for name, command in found
            if name not in args.skip]


def add_arguments(parser):
    """The arguments every end-to-end script takes."""
    parser.add_argument('ours', help="this project's interpreter")
    parser.add_argument('stock', help="stock Flask-SocketIO's interpreter")
    parser.add_argument('--mode', choices=MODES, default='threading')
    parser.add_argument('--node', action='store_true',
                        help="Node's socket.io server too, in the same run")
    parser.add_argument('--pure', action='store_true',
                        help='this package on its pure-Python twins too')
    parser.add_argument('--skip', action='append', default=[],
                        choices=['stock', 'node'],
                        help='leave one out (stock eventlet mode did not '
                             'take 5000 handshakes in time)')


@contextlib.contextmanager
def serving(command):
    """Run ``command`` with a free port as its last argument; yield the
    port and the server's pid."""
    port = free_port()
    server = subprocess.Popen(command + [str(port)],
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


def compare(measure, contenders, rounds, unit, pairs=None):
    """Alternate ``measure(command)`` between the servers for ``rounds``
    rounds (in order, then reversed, and so on).  ``measure`` returns a
    dict: ``rate`` (items per second), ``cpu`` (server CPU seconds per
    item), maybe ``p50``/``p99`` (latency, seconds).  Print each run and
    the ratios of the means for each ``(subject, other)`` of ``pairs``
    (above 1: the subject is faster, or uses less CPU; by default this
    project against each other server); return every run's dict, by
    server name."""
    runs = {name: [] for name, _ in contenders}
    order = list(contenders)
    for _ in range(rounds):
        for name, command in order:
            result = measure(command)
            runs[name].append(result)
            latency = (f', latency p50 {result["p50"] * 1e3:.2f} ms, p99 '
                       f'{result["p99"] * 1e3:.2f} ms' if 'p50' in result
                       else '')
            print(f'{name:5} {result["rate"]:9.0f} {unit}/s, server CPU '
                  f'{result["cpu"] * 1e6:7.1f} µs per {unit}{latency}',
                  flush=True)
        order.reverse()  # none always goes first
    if pairs is None:
        pairs = [('ours', name) for name in runs
                 if name != 'ours' and 'ours' in runs]
    for subject, name in pairs:
        mine, theirs = runs[subject], runs[name]
        print(f'{subject} / {name}: throughput '
              f'{mean(mine, "rate") / mean(theirs, "rate"):.2f}, CPU per '
              f'{unit} {mean(theirs, "cpu") / mean(mine, "cpu"):.2f}× less')
    return runs


def mean(results, key):
    """The mean of ``key`` over a server's runs (dicts of :func:`compare`)."""
    return sum(r[key] for r in results) / len(results)
