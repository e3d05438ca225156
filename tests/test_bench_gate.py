"""The benchmark gate (benchmarks/gate.py) itself: against a deliberately
slowed compiled core it fails, naming the ratios that fell; against the real
one it passes.  (CI runs the whole gate after the tests.)"""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, require

pytestmark = pytest.mark.once  # it measures the compiled core itself


def gate(*plugins):
    env = dict(os.environ)
    env.pop('FLASK_SOCKETIO_NO_EXTENSIONS', None)
    if plugins:
        env['PYTEST_PLUGINS'] = ','.join(plugins)
        env['PYTHONPATH'] = os.pathsep.join(
            [str(ROOT / 'tests' / 'gate'), env.get('PYTHONPATH', '')])
    return subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'gate.py'),
         '--only', 'micro'], capture_output=True, text=True, env=env,
        timeout=300, cwd=ROOT)


@pytest.fixture(scope='module', autouse=True)
def compiled():
    try:
        from flask_socketio._speedups import codec_c  # noqa: F401
    except ImportError:
        require(False, 'the compiled core is not built')


def test_the_gate_fails_on_a_slowed_compiled_core():
    run = gate('slow_core')
    assert run.returncode == 1, run.stdout + run.stderr
    # the summary: what fell, measured twice
    fell = run.stdout.split('gate FAILED', 1)[1].splitlines()[1:]
    assert any('encode small, compiled vs stock' in line for line in fell), \
        run.stdout
    assert any('encode 1kb, compiled vs pure' in line for line in fell)
    # what the slowdown does not touch stays above its floor
    assert not any('decode' in line for line in fell), fell


def test_the_gate_passes_on_the_real_core():
    run = gate()
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.rstrip().endswith('gate passed')
