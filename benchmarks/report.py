"""The benchmark report, from the results of ``suite.py``: ``report.md``
(tables of every scenario, the machine, versions and commands), PNG plots
beside it, and the README's generated block.

    python benchmarks/report.py benchmarks/report/results.json \
        [--readme README.md]

re-renders a report from saved results.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import ratios  # noqa: E402

SERVERS = ('stock', 'pure', 'ours', 'node')
LABELS = {'stock': 'stock Flask-SocketIO', 'pure': 'this package, pure',
          'ours': 'this package', 'node': 'Node socket.io'}
COLOURS = {'stock': '#999999', 'pure': '#aec7e8', 'ours': '#1f77b4',
           'node': '#2ca02c'}
#: the throughput scenarios: what one item is
UNITS = {'echo': 'round trip', 'emit': 'round trip', 'broadcast': 'delivery'}
PLURAL = {'round trip': 'round trips', 'delivery': 'deliveries'}
TITLES = {
    'echo': 'echo: acknowledged calls (the handler returns its argument)',
    'emit': 'echo: the handler emits back to the sender',
    'broadcast': 'broadcast: one sender, every other client receives',
    'connect': 'connections held open',
}
BEGIN = '<!-- benchmark report: written by ./dev bench, not by hand -->'
END = '<!-- end of the benchmark report -->'


def mean(runs, key):
    values = [r[key] for r in runs if key in r]
    return sum(values) / len(values) if values else None


def summary(results):
    """``{scenario: {mode: {server: {metric: mean}}}}``."""
    out = {}
    for scenario, modes in results['e2e'].items():
        for mode, servers in modes.items():
            cell = out.setdefault(scenario, {}).setdefault(mode, {})
            for server, runs in servers.items():
                cell[server] = {key: mean(runs, key) for key in runs[0]}
    return out


def _num(value, scale=1.0, digits=0):
    return '-' if value is None else f'{value * scale:,.{digits}f}'


def _ratio(a, b):
    return '-' if a is None or b is None or not b else f'{a / b:.2f}×'


def throughput_table(cells, unit):
    lines = [f'| mode | {PLURAL[unit]}/s: stock | pure | this package | '
             f'Node | CPU µs per {unit}: stock | pure | this package | Node | '
             'throughput: this package ÷ stock | CPU: stock ÷ this package | '
             'CPU: Node ÷ this package | '
             'latency p50 / p99 ms (this package) |',
             '|---|' + '---|' * 12]
    for mode, cell in cells.items():
        got = {s: cell.get(s, {}) for s in SERVERS}
        ours = got['ours']
        latency = '-' if ours.get('p50') is None else \
            f'{ours["p50"] * 1e3:.2f} / {ours["p99"] * 1e3:.2f}'
        lines.append(
            f'| {mode} | ' +
            ' | '.join(_num(got[s].get('rate')) for s in SERVERS) + ' | ' +
            ' | '.join(_num(got[s].get('cpu'), 1e6, 1) for s in SERVERS) +
            f' | {_ratio(ours.get("rate"), got["stock"].get("rate"))}'
            f' | {_ratio(got["stock"].get("cpu"), ours.get("cpu"))}'
            f' | {_ratio(got["node"].get("cpu"), ours.get("cpu"))}'
            f' | {latency} |')
    return '\n'.join(lines)


def connect_table(cells):
    lines = ['| mode | KB per connection: stock | pure | this package | Node '
             '| threads: stock | pure | this package | Node |',
             '|---|' + '---|' * 8]
    for mode, cell in cells.items():
        got = {s: cell.get(s, {}) for s in SERVERS}
        lines.append(
            f'| {mode} | ' +
            ' | '.join(_num(got[s].get('kb'), digits=1) for s in SERVERS) +
            ' | ' + ' | '.join(_num(got[s].get('threads')) for s in SERVERS)
            + ' |')
    return '\n'.join(lines)


def _bars(ax, cells, metric, scale, title, inner=None):
    """Bars of ``metric`` by mode and server; ``inner``: a second metric
    drawn as a dark narrower bar inside each (p50 within p99)."""
    import numpy as np
    modes = list(cells)
    present = [s for s in SERVERS
               if any(s in cells[m] for m in modes)]
    width = 0.8 / max(1, len(present))
    x = np.arange(len(modes))
    for i, server in enumerate(present):
        values = [(cells[m].get(server, {}).get(metric) or 0) * scale
                  for m in modes]
        at = x + (i - (len(present) - 1) / 2) * width
        ax.bar(at, values, width, label=LABELS[server],
               color=COLOURS[server])
        if inner is not None:
            ax.bar(at, [(cells[m].get(server, {}).get(inner) or 0) * scale
                        for m in modes], width * 0.4, color='#000000',
                   alpha=0.45)
    ax.set_xticks(x, modes)
    ax.set_title(title, fontsize=10)
    ax.grid(axis='y', alpha=0.3)


def plot_scenario(path, scenario, cells):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    if scenario == 'connect':
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        _bars(axes[0], cells, 'kb', 1, 'server KB per connection (lower '
              'is better)')
        _bars(axes[1], cells, 'threads', 1, 'threads with them open')
    else:
        unit = UNITS[scenario]
        latency = scenario in ('echo', 'emit')
        fig, axes = plt.subplots(1, 3 if latency else 2,
                                 figsize=(13 if latency else 9, 3.4))
        _bars(axes[0], cells, 'rate', 1, f'{PLURAL[unit]} per second '
              '(higher is better)')
        _bars(axes[1], cells, 'cpu', 1e6, f'server CPU µs per {unit} '
              '(lower is better)')
        if latency:
            _bars(axes[2], cells, 'p99', 1e3, 'latency, ms: p99, p50 inside '
                  '(lower is better)', inner='p50')
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc='lower center', ncol=len(labels),
               fontsize=8, frameon=False)
    fig.suptitle(TITLES[scenario], fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_micro(path, groups):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    names = sorted(g for g in groups if ratios.baseline(groups[g]))
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(names) + 1.2))
    y = np.arange(len(names))
    for i, impl in enumerate(('pure', 'compiled')):
        values = [ratios.baseline(groups[n]) / groups[n][impl]
                  if impl in groups[n] else 0 for n in names]
        ax.barh(y + (i - 0.5) * 0.4, values, 0.4, label=impl,
                color=('#aec7e8', '#1f77b4')[i])
    ax.axvline(1, color='#999999', lw=1)
    ax.set_yticks(y, names, fontsize=8)
    ax.set_xscale('log')
    ax.set_xlabel('times faster than stock (log scale; 1 = stock)')
    ax.legend(fontsize=8)
    ax.set_title('micro-benchmarks', fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def header(meta):
    m, v = meta['machine'], meta['versions']
    node = v.get('node')
    return '\n'.join([
        f"Measured {meta['date']} on {m['cpu']} ({m['cores']} cores, "
        f"{m['system']}), {meta['size']} size, means of {meta['rounds']} "
        f"round(s), in {meta.get('seconds', '?')} s.",
        '',
        f"- this package: flask-socketio {v['ours']['flask-socketio']}, "
        f"python-socketio {v['ours']['python-socketio']}, python-engineio "
        f"{v['ours']['python-engineio']}, Flask {v['ours']['flask']}, "
        f"Python {v['ours']['python']}",
        f"- stock: flask-socketio {v['stock']['flask-socketio']}, "
        f"python-socketio {v['stock']['python-socketio']}, python-engineio "
        f"{v['stock']['python-engineio']}, Flask {v['stock']['flask']}, "
        f"Python {v['stock']['python']}",
        f"- Node: {node['node']}, socket.io {node['socket.io']}" if node
        else '- Node: not measured',
        '- each server in turn pinned to one core, the load generator '
        '(asyncio on uvloop, raw Engine.IO over `benchmarks/_rawws.py`) to '
        'the other; the servers alternate between rounds',
    ])


def render(results, out_dir):
    """Write ``report.md`` and its plots into ``out_dir``; its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = results['meta']
    parts = ['# Benchmark report', '', header(meta), '',
             '"this package" is its compiled core, "pure" the same on its '
             'pure-Python twins; ratios above 1 are in favour of this '
             'package.', '']
    cells = summary(results)
    for scenario, by_mode in cells.items():
        plot_scenario(out_dir / f'{scenario}.png', scenario, by_mode)
        parts += [f'## {TITLES[scenario]}', '',
                  connect_table(by_mode) if scenario == 'connect'
                  else throughput_table(by_mode, UNITS[scenario]), '',
                  f'![{scenario}]({scenario}.png)', '']
    if results.get('micro'):
        plot_micro(out_dir / 'micro.png', results['micro'])
        parts += ['## micro-benchmarks (mean time of stock over each)', '',
                  ratios.table(results['micro']), '',
                  '![micro](micro.png)', '']
    parts += ['## commands', ''] + [f'- `{c}`' for c in meta['commands']]
    page = out_dir / 'report.md'
    page.write_text('\n'.join(parts) + '\n')
    return page


def readme_block(results, out_dir, readme):
    """The README's block: the end-to-end tables and the plots, linked
    relative to the README."""
    rel = Path(out_dir).resolve().relative_to(
        Path(readme).resolve().parent)
    parts = [BEGIN, '', header(results['meta']), '']
    cells = summary(results)
    for scenario, by_mode in cells.items():
        parts += [f'**{TITLES[scenario]}**', '',
                  connect_table(by_mode) if scenario == 'connect'
                  else throughput_table(by_mode, UNITS[scenario]), '']
    plots = [s for s in cells] + (['micro'] if results.get('micro') else [])
    parts += [' '.join(f'![{p}]({rel}/{p}.png)' for p in plots), '',
              f'The micro-benchmarks and the commands: `{rel}/report.md`.',
              '', END]
    return '\n'.join(parts)


def update_readme(readme, results, out_dir):
    """Replace the README's block (between BEGIN and END) with this
    report's."""
    text = Path(readme).read_text()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f'{readme}: no benchmark block ({BEGIN!r} ... '
                         f'{END!r}) to rewrite')
    Path(readme).write_text(text[:start] +
                            readme_block(results, out_dir, readme) +
                            text[end + len(END):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', type=Path)
    parser.add_argument('--readme', type=Path)
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    print(render(results, args.results.parent))
    if args.readme:
        update_readme(args.readme, results, args.results.parent)


if __name__ == '__main__':
    main()
