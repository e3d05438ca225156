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
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import e2e_echo  # noqa: E402
import instructions  # noqa: E402
import ratios  # noqa: E402
from _e2e import mean  # noqa: E402

PARTS = ('micro', 'e2e', 'instructions')


def micro(floors):
    """``[(ratio's name, measured, floor)]``; measured None when missing."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / 'micro.json'
        env = dict(os.environ)
        env.pop('FLASK_SOCKETIO_NO_EXTENSIONS', None)
        subprocess.run(
            [sys.executable, '-m', 'pytest', str(HERE), '-q',
             '-p', 'no:cacheprovider', f'--benchmark-json={path}',
             '--benchmark-min-rounds=15', '--benchmark-max-time=0.1'],
            check=True, env=env, stdout=subprocess.DEVNULL)
        groups = ratios.load(path, 'median')
    out = []
    for group, against in floors.items():
        times = groups.get(group, {})
        for baseline, floor in against.items():
            base = ratios.baseline(times) if baseline == 'stock' \
                else times.get(baseline)
            measured = base / times['compiled'] \
                if base and 'compiled' in times else None
            out.append((f'{group}, compiled vs {baseline}', measured, floor))
    return out


def e2e(config, ours, stock):
    out = []
    for mode in ('threading', 'gevent'):
        floors = config[mode]
        print(f'  acknowledged echo, {mode} mode, {config["clients"]} '
              f'clients x {config["trips"]} calls, {config["rounds"]} '
              'rounds', flush=True)
        runs = e2e_echo.run(argparse.Namespace(
            ours=ours, stock=stock, mode=mode, node=False, skip=[],
            clients=config['clients'], trips=config['trips'], seconds=30,
            rounds=config['rounds'], reply='ack'))
        out += [(f'echo {mode}, throughput vs stock',
                 mean(runs['ours'], 'rate') / mean(runs['stock'], 'rate'),
                 floors['throughput']),
                (f'echo {mode}, CPU per round trip vs stock',
                 mean(runs['stock'], 'cpu') / mean(runs['ours'], 'cpu'),
                 floors['cpu'])]
    return out


def counted(floors):
    cases = []
    for name in floors:
        op, payload = name.split()
        cases += [('stock', op, payload), ('compiled', op, payload)]
    per = instructions.per_operation(cases)
    out = []
    for name, floor in floors.items():
        op, payload = name.split()
        out.append((f'instructions {name}, compiled vs stock',
                    per[('stock', op, payload)] /
                    per[('compiled', op, payload)], floor))
    return out


def show(results):
    for name, measured, floor in results:
        ok = measured is not None and measured >= floor
        shown = 'not measured' if measured is None else f'{measured:.2f}'
        print(f'  {"ok  " if ok else "FELL"} {name}: {shown} '
              f'(floor {floor:.2f})', flush=True)


def below(results):
    return [(name, measured, floor) for name, measured, floor in results
            if measured is None or measured < floor]


#: measurements more, after a pause, where a ratio fell
AGAIN = 2
PAUSE = 2.0  # seconds: what else the machine was doing may pass


def gated(title, measure):
    """Run ``measure`` (a part); where a ratio falls, measure up to
    :data:`AGAIN` times more, after a pause each, keeping each ratio's
    best value: a regression falls every time, this machine's noise (a
    burst of other work, which the measurement right after met too)
    seldom does.  The ratios that fell every time."""
    print(title, flush=True)
    results = measure()
    show(results)
    fell = below(results)
    for _ in range(AGAIN):
        if not fell:
            break
        time.sleep(PAUSE)
        print('  measuring again, for the ratios that fell', flush=True)
        again = {name: measured for name, measured, _ in measure()}
        fell = [(name, max((m for m in (measured, again.get(name))
                            if m is not None), default=None), floor)
                for name, measured, floor in fell]
        show(fell)
        fell = below(fell)
    return fell


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
        if shutil.which('valgrind') is None:
            print('instructions: valgrind is not installed, not counted')
        else:
            failures += gated('instructions (callgrind): stock against '
                              'compiled',
                              lambda: counted(floors['instructions']))
    if 'micro' in parts:
        failures += gated('micro-benchmarks: compiled against stock and '
                          'pure (medians)', lambda: micro(floors['micro']))
    if 'e2e' in parts:
        failures += gated('end to end: this package against stock',
                          lambda: e2e(floors['e2e'], args.ours, args.stock))
    if failures:
        print(f'gate FAILED, {len(failures)} ratio(s) below the floor:')
        for name, measured, floor in failures:
            shown = 'not measured' if measured is None else f'{measured:.2f}'
            print(f'  {name}: {shown} < {floor:.2f}')
        return 1
    print('gate passed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
