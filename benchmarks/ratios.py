"""Print speed-up ratios from a pytest-benchmark JSON file.

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


def main(path):
    groups = defaultdict(dict)
    for bench in json.load(open(path))['benchmarks']:
        impl = bench['params']['impl']
        groups[bench['group']][impl] = bench['stats']['mean']
    impls = ['pure', 'compiled', 'orjson', 'floor']
    print(f"| {'operation':20} | baseline µs | "
          + ' | '.join(f'{i} ×' for i in impls) + ' |')
    print('|' + '---|' * (2 + len(impls)))
    for group in sorted(groups):
        means = groups[group]
        base = means.get('stock', means.get('stdlib'))
        cells = [f'{base / means[i]:.1f}' if i in means else '-'
                 for i in impls]
        print(f'| {group:20} | {base * 1e6:11.2f} | ' + ' | '.join(cells)
              + ' |')


if __name__ == '__main__':
    main(sys.argv[1])
