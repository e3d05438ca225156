"""Speed-up ratios of the micro-benchmarks, from a pytest-benchmark JSON
file.

    python benchmarks/ratios.py .benchmarks/codec.json

For each group (operation and payload), the baseline (stock
python-socketio or the standard json module) mean time divided by each
implementation's: 5.0 means five times faster than stock.  Where measured,
the ``orjson`` column is the same ratio for orjson's bare parse of the JSON
and the ``floor`` column for building the decoded objects with no text to
parse (marshal): what bounds any decoder.
"""
import json
import sys
from collections import defaultdict

IMPLS = ['pure', 'compiled', 'orjson', 'floor']


def load(path, stat='mean'):
    """``{group: {impl: seconds}}``: the ``stat`` of each benchmark."""
    groups = defaultdict(dict)
    with open(path) as f:
        for bench in json.load(f)['benchmarks']:
            groups[bench['group']][bench['params']['impl']] = \
                bench['stats'][stat]
    return dict(groups)


def baseline(times):
    return times.get('stock', times.get('stdlib'))


def table(groups):
    """The markdown table of the ratios, one row per group."""
    lines = [f"| {'operation':20} | baseline µs | "
             + ' | '.join(f'{i} ×' for i in IMPLS) + ' |',
             '|' + '---|' * (2 + len(IMPLS))]
    for group in sorted(groups):
        times = groups[group]
        base = baseline(times)
        cells = [f'{base / times[i]:.1f}' if i in times else '-'
                 for i in IMPLS]
        lines.append(f'| {group:20} | {base * 1e6:11.2f} | '
                     + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


if __name__ == '__main__':
    print(table(load(sys.argv[1])))
