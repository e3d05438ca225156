"""The whole benchmark suite in one run: the micro-benchmarks (codec,
WebSocket frames, fan-out: compiled and pure against stock python-socketio,
pytest-benchmark) and the end-to-end load benchmarks in every async mode
(this package, compiled and on its pure twins, against stock
Flask-SocketIO in its own interpreter, and Node's socket.io where
``benchmarks/node`` is installed), written as a report
(``report.py``): a markdown page, PNG plots and the results as JSON.

    python benchmarks/suite.py --ours PYTHON --stock PYTHON [--out DIR]
        [--scenarios micro,echo,emit,broadcast,connect]
        [--modes threading,gevent,eventlet] [--size full|quick] [--no-node]
        [--no-pure]
        [--readme README.md]

``./dev bench`` runs it with this project's interpreters and a stock
environment it makes when missing.  ``--readme`` rewrites the README's
marked block from the report, and only from a full run (every scenario and
mode at the full size), so the README never shows a partial one.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import e2e_broadcast  # noqa: E402
import e2e_connect  # noqa: E402
import e2e_echo  # noqa: E402
import ratios  # noqa: E402
import report  # noqa: E402
from _e2e import MODES  # noqa: E402

SCENARIOS = ('micro', 'echo', 'emit', 'broadcast', 'connect')
#: per scenario, the arguments of its script; and the rounds of each
SIZES = {
    'full': {
        # 600 trips each: at 200 the faster servers were done in half a
        # second, which CPU time in 10 ms ticks and the stragglers' tail
        # measured to within ten per cent
        'echo': {'clients': 50, 'trips': 600, 'seconds': 30},
        'broadcast': {'clients': 100, 'seconds': 8, 'window': 4},
        'connect': {'clients': 500},
        'rounds': 2,
        'micro': [],
    },
    'quick': {
        'echo': {'clients': 20, 'trips': 50, 'seconds': 10},
        'broadcast': {'clients': 30, 'seconds': 2, 'window': 4},
        'connect': {'clients': 50},
        'rounds': 1,
        'micro': ['--benchmark-min-rounds=3', '--benchmark-max-time=0.02',
                  '--benchmark-warmup=off'],
    },
}


def versions(python):
    """What the interpreter's flask_socketio runs on."""
    code = ('import json, sys, flask, flask_socketio, socketio, engineio\n'
            'from importlib.metadata import version\n'
            'print(json.dumps({"python": sys.version.split()[0], '
            '"flask": version("flask"), '
            '"flask-socketio": version("flask-socketio"), '
            '"python-socketio": version("python-socketio"), '
            '"python-engineio": version("python-engineio")}))')
    out = subprocess.run([python, '-c', code], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def machine():
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {'cpu': model or platform.processor(), 'cores': os.cpu_count(),
            'system': f'{platform.system()} {platform.release()}',
            'machine': platform.machine()}


def node_versions():
    node = shutil.which('node')
    package = HERE / 'node' / 'node_modules' / 'socket.io' / 'package.json'
    if node is None or not package.is_file():
        return None
    out = subprocess.run([node, '--version'], capture_output=True, text=True)
    return {'node': out.stdout.strip(),
            'socket.io': json.loads(package.read_text())['version']}


def micro(out_dir, size, progress):
    """The pytest-benchmark run, into ``micro.json``; ``{group: {impl:
    mean seconds}}``."""
    path = out_dir / 'micro.json'
    command = [sys.executable, '-m', 'pytest', str(HERE), '-q',
               '-p', 'no:cacheprovider', f'--benchmark-json={path}',
               *SIZES[size]['micro']]
    progress('micro-benchmarks (pytest-benchmark)', command)
    env = dict(os.environ)
    env.pop('FLASK_SOCKETIO_NO_EXTENSIONS', None)
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    return ratios.load(path)


def e2e(scenario, mode, args, progress):
    """One scenario in one mode: every run of every server."""
    size = SIZES[args.size]
    ns = argparse.Namespace(ours=args.ours, stock=args.stock, mode=mode,
                            node=args.node, pure=args.pure, skip=[],
                            rounds=size['rounds'])
    if scenario in ('echo', 'emit'):
        vars(ns).update(size['echo'], reply='ack' if scenario == 'echo'
                        else 'emit')
        module = e2e_echo
    elif scenario == 'broadcast':
        vars(ns).update(size['broadcast'])
        module = e2e_broadcast
    else:
        vars(ns).update(size['connect'], rounds=1)
        module = e2e_connect
    line = ' '.join(f'--{k} {v}' for k, v in sorted(vars(ns).items())
                    if k not in ('ours', 'stock', 'node', 'pure', 'skip',
                                 'mode'))
    progress(f'{scenario}, {mode} mode',
             [f'benchmarks/{module.__name__}.py', 'OURS', 'STOCK',
              f'--mode {mode}', line, '--node' if args.node else '',
              '--pure' if args.pure else ''])
    return module.run(ns)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ours', required=True,
                        help="this project's interpreter, with gevent and "
                             "eventlet for their modes")
    parser.add_argument('--stock', required=True,
                        help="stock Flask-SocketIO's interpreter")
    parser.add_argument('--out', type=Path,
                        help='the report directory (default: '
                             'benchmarks/report for a full run, which is '
                             'committed with the README, else '
                             '.benchmarks/report)')
    parser.add_argument('--scenarios', default=','.join(SCENARIOS))
    parser.add_argument('--modes', default=','.join(MODES))
    parser.add_argument('--size', choices=sorted(SIZES), default='full')
    parser.add_argument('--no-node', dest='node', action='store_false',
                        help="leave Node's socket.io out")
    parser.add_argument('--no-pure', dest='pure', action='store_false',
                        help='leave this package on its pure twins out')
    parser.add_argument('--readme', type=Path,
                        help='rewrite the marked block of this README')
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(',') if s]
    modes = [m for m in args.modes.split(',') if m]
    unknown = set(scenarios) - set(SCENARIOS) | set(modes) - set(MODES)
    if unknown:
        parser.error(f'unknown: {", ".join(sorted(unknown))}')
    nodes = node_versions() if args.node else None
    args.node = nodes is not None
    complete = (args.size == 'full' and set(scenarios) == set(SCENARIOS)
                and set(modes) == set(MODES))
    if args.out is None:
        args.out = HERE / 'report' if complete else \
            HERE.parent / '.benchmarks' / 'report'
    args.out.mkdir(parents=True, exist_ok=True)

    steps = (('micro' in scenarios) +
             len([s for s in scenarios if s != 'micro']) * len(modes))
    done = [0]
    started = time.monotonic()
    commands = []

    def progress(what, command):
        done[0] += 1
        print(f'[{done[0]}/{steps}, {time.monotonic() - started:4.0f} s] '
              f'{what}', flush=True)
        commands.append(' '.join(c for c in command if c))

    results = {'meta': {
        'date': datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        'machine': machine(), 'size': args.size, 'rounds':
            SIZES[args.size]['rounds'], 'scenarios': scenarios,
        'modes': modes, 'commands': commands,
        'versions': {'ours': versions(args.ours),
                     'stock': versions(args.stock), 'node': nodes},
    }, 'micro': None, 'e2e': {}}
    if 'micro' in scenarios:
        results['micro'] = micro(args.out, args.size, progress)
    for scenario in scenarios:
        if scenario == 'micro':
            continue
        for mode in modes:
            results['e2e'].setdefault(scenario, {})[mode] = e2e(
                scenario, mode, args, progress)
    results['meta']['seconds'] = round(time.monotonic() - started)
    (args.out / 'results.json').write_text(json.dumps(results, indent=1))
    page = report.render(results, args.out)
    print(f'report: {page}')
    if args.readme is not None:
        if complete:
            report.update_readme(args.readme, results, args.out)
            print(f'{args.readme}: benchmark block rewritten')
        else:
            print(f'{args.readme} left as it is: only a full run (every '
                  'scenario and mode, --size full) rewrites it')


if __name__ == '__main__':
    main()
