"""Round trips of your own app's event, end to end, with this suite's load
generator: for your CI, or to compare two builds side by side.

    python benchmarks/e2e_app.py MODULE --event NAME [--data JSON]
        [--reply ack|EVENT] [--python PYTHON]... [--names base,head]
        [--mode threading|gevent|eventlet] [--clients 50] [--trips 200]
        [--seconds 30] [--rounds 2] [--fail-below RATIO] [--json FILE]

MODULE (importable from the current directory, e.g. ``chat`` or
``myapp.realtime``) holds your Flask app and its SocketIO object (named
``app`` and ``socketio``; ``--app-attr`` and ``--socketio-attr`` name them
otherwise); they are served by ``socketio.run()`` on 127.0.0.1, pinned to
one core.  Clients (``--clients``, over WebSocket) each send ``--trips``
``NAME`` events carrying ``--data`` (JSON) one after the other, each
answered by an ack (``--reply ack``, your handler returns a value) or by an
event your handler emits back to the sender (``--reply EVENT``).  The output
is round trips per second, server CPU per round trip and latency
percentiles.

With several ``--python`` (interpreters whose environments hold your app's
requirements: say one with main's build, one with a branch's; ``--app-dir``
says where each one's MODULE is, when they differ) the servers
alternate in one run and the ratios of the later ones to the first are
printed; ``--fail-below 0.9`` exits with 1 when a later one's throughput, or
its CPU per round trip, is worse than 0.9 of the first's.  Needs this
project's ``bench`` extra (uvloop, websockets) where the script runs.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import e2e_echo  # noqa: E402
from _e2e import MODES, _PRELUDE, compare, mean  # noqa: E402


def server_source(module, app_attr, socketio_attr, mode, cwd):
    """A server script serving ``module``'s app with ``socketio.run()`` on
    the port given as its argument."""
    unsafe = ', allow_unsafe_werkzeug=True' if mode == 'threading' else ''
    return (_PRELUDE[mode] +
            'import importlib, sys\n'
            f'sys.path.insert(0, {cwd!r})\n'
            f'm = importlib.import_module({module!r})\n'
            f'm.{socketio_attr}.run(m.{app_attr}, host="127.0.0.1", '
            f'port=int(sys.argv[1]){unsafe})\n')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('module')
    parser.add_argument('--app-attr', default='app')
    parser.add_argument('--socketio-attr', default='socketio')
    parser.add_argument('--event', required=True)
    parser.add_argument('--data', default='null', help='JSON')
    parser.add_argument('--reply', default='ack')
    parser.add_argument('--python', action='append',
                        help='an interpreter to serve the app (repeat to '
                             'compare; default: this one)')
    parser.add_argument('--names', help='their names, comma-separated')
    parser.add_argument('--app-dir', action='append',
                        help="where each --python's MODULE is (repeat in "
                             'their order; default: the current directory)')
    parser.add_argument('--mode', choices=MODES, default='threading',
                        help='monkey-patch first for gevent or eventlet')
    parser.add_argument('--clients', type=int, default=50)
    parser.add_argument('--trips', type=int, default=200)
    parser.add_argument('--seconds', type=float, default=30)
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--fail-below', type=float)
    parser.add_argument('--json', help='write every run here')
    args = parser.parse_args(argv)
    pythons = args.python or [sys.executable]
    names = args.names.split(',') if args.names else \
        [f'python{i}' if i else 'base' for i in range(len(pythons))]
    dirs = [os.path.abspath(d) for d in args.app_dir or
            [os.getcwd()] * len(pythons)]
    if len(names) != len(pythons) or len(dirs) != len(pythons):
        parser.error('--names and --app-dir need one each per --python')
    payload = json.loads(args.data)
    runs = compare(
        lambda command: e2e_echo.measure(command, args.clients, args.trips,
                                         args.seconds, args.reply,
                                         args.event, payload),
        [(name, [python, '-c', server_source(
            args.module, args.app_attr, args.socketio_attr, args.mode, path)])
         for name, python, path in zip(names, pythons, dirs)], args.rounds,
        'round trip', pairs=[(name, names[0]) for name in names[1:]])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(runs, f, indent=1)
    failed = []
    if args.fail_below is not None:
        first = runs[names[0]]
        for name in names[1:]:
            for what, ratio in (
                    ('throughput', mean(runs[name], 'rate') /
                     mean(first, 'rate')),
                    ('CPU per round trip', mean(first, 'cpu') /
                     mean(runs[name], 'cpu'))):
                if ratio < args.fail_below:
                    failed.append(f'{name} / {names[0]}: {what} '
                                  f'{ratio:.2f} < {args.fail_below}')
    for line in failed:
        print(f'FELL {line}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
