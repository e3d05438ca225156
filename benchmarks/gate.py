"""The benchmark gate: a short run (a few minutes) that exits non-zero when a
ratio measured in it falls below its floor in ``thresholds.toml``, naming
each ratio that fell.  ``./dev gate`` runs it; CI runs it after the tests.

    python benchmarks/gate.py --ours PYTHON --stock PYTHON
        [--only micro,e2e,instructions] [--thresholds FILE]

micro: the micro-benchmarks, compiled core against stock and against its
pure twin (pytest-benchmark, in this interpreter, which must have the
compiled core); e2e: acknowledged echo calls in threading and gevent mode,
this package (``--ours``, with gevent) against stock Flask-SocketIO
(``--stock``); instructions: callgrind counts of the codec, where valgrind
is installed (skipped, and said so, where it is not).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import e2e_echo  # noqa: E402
import instructions  # noqa: E402
import ratios  # noqa: E402
from _e2e import mean  # noqa: E402

PARTS = ('micro', 'e2e', 'instructions')


def check(name, measured, floor, failures):
    ok = measured >= floor
    print(f'  {"ok  " if ok else "FELL"} {name}: {measured:.2f} '
          f'(floor {floor:.2f})', flush=True)
    if not ok:
        failures.append(f'{name}: {measured:.2f} < {floor:.2f}')


def micro(floors, failures):
    print('micro-benchmarks: compiled against stock and pure (medians)',
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'micro.json'
        env = dict(os.environ)
        env.pop('FLASK_SOCKETIO_NO_EXTENSIONS', None)
        subprocess.run(
            [sys.executable, '-m', 'pytest', str(HERE), '-q',
             '-p', 'no:cacheprovider', f'--benchmark-json={path}',
             '--benchmark-min-rounds=5', '--benchmark-max-time=0.05'],
            check=True, env=env, stdout=subprocess.DEVNULL)
        groups = ratios.load(path, 'median')
    for group, against in floors.items():
        times = groups.get(group)
        if times is None or 'compiled' not in times:
            failures.append(f'{group}: not measured (no compiled core?)')
            print(f'  FELL {group}: not measured', flush=True)
            continue
        for baseline, floor in against.items():
            base = ratios.baseline(times) if baseline == 'stock' \
                else times[baseline]
            check(f'{group}, compiled vs {baseline}',
                  base / times['compiled'], floor, failures)


def e2e(config, ours, stock, failures):
    for mode in ('threading', 'gevent'):
        floors = config[mode]
        print(f'end to end: acknowledged echo, {mode} mode, '
              f'{config["clients"]} clients x {config["trips"]} calls, '
              f'{config["rounds"]} rounds', flush=True)
        runs = e2e_echo.run(argparse.Namespace(
            ours=ours, stock=stock, mode=mode, node=False, skip=[],
            clients=config['clients'], trips=config['trips'], seconds=30,
            rounds=config['rounds'], reply='ack'))
        check(f'echo {mode}, throughput vs stock',
              mean(runs['ours'], 'rate') / mean(runs['stock'], 'rate'),
              floors['throughput'], failures)
        check(f'echo {mode}, CPU per round trip vs stock',
              mean(runs['stock'], 'cpu') / mean(runs['ours'], 'cpu'),
              floors['cpu'], failures)


def counted(floors, failures):
    if shutil.which('valgrind') is None:
        print('instructions: valgrind is not installed, not counted',
              flush=True)
        return
    print('instructions (callgrind): stock against compiled', flush=True)
    cases = []
    for name in floors:
        op, payload = name.split()
        cases += [('stock', op, payload), ('compiled', op, payload)]
    per = instructions.per_operation(cases)
    for name, floor in floors.items():
        op, payload = name.split()
        check(f'instructions {name}, compiled vs stock',
              per[('stock', op, payload)] / per[('compiled', op, payload)],
              floor, failures)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ours', help="this project's interpreter, with "
                        'gevent (the e2e part)')
    parser.add_argument('--stock', help="stock Flask-SocketIO's interpreter "
                        '(the e2e part)')
    parser.add_argument('--only', default=','.join(PARTS))
    parser.add_argument('--thresholds', type=Path,
                        default=HERE / 'thresholds.toml')
    args = parser.parse_args(argv)
    parts = [p for p in args.only.split(',') if p]
    if set(parts) - set(PARTS):
        parser.error(f'--only takes {", ".join(PARTS)}')
    if 'e2e' in parts and not (args.ours and args.stock):
        parser.error('the e2e part needs --ours and --stock')
    floors = tomllib.loads(args.thresholds.read_text())
    failures = []
    if 'instructions' in parts:
        counted(floors['instructions'], failures)
    if 'micro' in parts:
        micro(floors['micro'], failures)
    if 'e2e' in parts:
        e2e(floors['e2e'], args.ours, args.stock, failures)
    if failures:
        print(f'gate FAILED, {len(failures)} ratio(s) below the floor:')
        for line in failures:
            print(f'  {line}')
        return 1
    print('gate passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
