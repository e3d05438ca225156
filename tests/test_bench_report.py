"""The benchmark suite's report (benchmarks/suite.py, report.py) renders
from a small real run: the page, its tables, valid PNG plots, and the
README block only from a full run."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.once  # the harness, whatever the codec build

PNG = b'\x89PNG\r\n\x1a\n'


def test_a_small_run_renders_the_report_and_plots(tmp_path):
    readme = tmp_path / 'README.md'
    readme.write_text('intro\n<!-- benchmark report: written by ./dev '
                      'bench, not by hand -->\nold\n<!-- end of the '
                      'benchmark report -->\nrest\n')
    out = tmp_path / 'report'
    # this interpreter serves as both contenders: the harness is under
    # test here, not the speed
    run = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'suite.py'),
         '--ours', sys.executable, '--stock', sys.executable,
         '--size', 'quick', '--modes', 'threading', '--no-node',
         '--scenarios', 'micro,echo,connect', '--out', str(out),
         '--readme', str(readme)],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert '[3/3' in run.stdout  # progress, step by step
    page = (out / 'report.md').read_text()
    for heading in ('## echo: acknowledged calls', '## connections held open',
                    '## micro-benchmarks', '## commands'):
        assert heading in page
    assert '| threading |' in page
    for plot in ('echo', 'connect', 'micro'):
        data = (out / f'{plot}.png').read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, plot
        import matplotlib.image
        assert matplotlib.image.imread(out / f'{plot}.png').shape[2] in (3, 4)
    results = json.loads((out / 'results.json').read_text())
    ours = results['e2e']['echo']['threading']['ours'][0]
    assert ours['rate'] > 0 and ours['cpu'] > 0 and ours['p99'] >= ours['p50']
    assert results['micro']['encode small']['stock'] > 0
    # a partial run leaves the README alone
    assert 'left as it is' in run.stdout
    assert 'old' in readme.read_text()


def test_the_readme_block_is_rewritten_from_results(tmp_path):
    sys.path.insert(0, str(ROOT / 'benchmarks'))
    try:
        import report
    finally:
        sys.path.pop(0)
    results = {
        'meta': {'date': '2026-12-03T00:00:00+00:00', 'size': 'full',
                 'rounds': 2, 'seconds': 1, 'commands': ['x'],
                 'machine': {'cpu': 'a CPU', 'cores': 2, 'system': 'Linux'},
                 'versions': {v: {'python': '3', 'flask': '3',
                                  'flask-socketio': v, 'python-socketio': '5',
                                  'python-engineio': '4'}
                              for v in ('ours', 'stock')} | {'node': None}},
        'micro': None,
        'e2e': {'echo': {'gevent': {
            'stock': [{'rate': 1000.0, 'cpu': 300e-6, 'p50': 0.01,
                       'p99': 0.04}],
            'ours': [{'rate': 4000.0, 'cpu': 100e-6, 'p50': 0.002,
                      'p99': 0.006},
                     {'rate': 6000.0, 'cpu': 50e-6, 'p50': 0.002,
                      'p99': 0.008}]}}},
    }
    readme = tmp_path / 'README.md'
    readme.write_text(f'before\n{report.BEGIN}\nold\n{report.END}\nafter\n')
    out = tmp_path / 'benchmarks' / 'report'
    report.render(results, out)
    report.update_readme(readme, results, out)
    text = readme.read_text()
    assert text.startswith('before\n') and text.endswith('after\n')
    assert 'old' not in text
    # means of the runs; ratios in this package's favour above 1
    assert '| gevent | 1,000 | - | 5,000 | - | 300.0 | - | 75.0 | - | ' \
        '5.00× | 4.00× | - |' in text
    assert '![echo](benchmarks/report/echo.png)' in text
