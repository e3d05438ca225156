"""benchmarks/e2e_app.py: a user's own app and event, end to end, with the
suite's load generator; two interpreters side by side, and the exit status
a CI job keys on."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.once  # the harness, whatever the codec build

APP = '''
from flask import Flask
from flask_socketio import SocketIO, emit

web = Flask(__name__)
sio = SocketIO(web, async_mode='threading')


@sio.on('add')
def add(data):
    return data['a'] + data['b']


@sio.on('ping_me')
def ping_me(data):
    emit('pong_you', data)
'''


def harness(tmp_path, *args):
    (tmp_path / 'myapp.py').write_text(APP)
    return subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'e2e_app.py'), 'myapp',
         '--app-attr', 'web', '--socketio-attr', 'sio', '--clients', '5',
         '--trips', '200', '--rounds', '1', *args],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)


def test_an_acknowledged_event_of_the_users_app(tmp_path):
    run = harness(tmp_path, '--event', 'add', '--data', '{"a": 1, "b": 2}',
                  '--json', 'runs.json')
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'round trip/s' in run.stdout
    runs = json.loads((tmp_path / 'runs.json').read_text())
    assert runs['base'][0]['rate'] > 0 and runs['base'][0]['p99'] > 0


def test_two_builds_side_by_side_and_the_failing_ratio(tmp_path):
    args = ['--event', 'ping_me', '--data', '[1, 2]', '--reply', 'pong_you',
            '--python', sys.executable, '--python', sys.executable,
            '--names', 'main,branch']
    run = harness(tmp_path, *args, '--fail-below', '0.05')
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'branch / main: throughput' in run.stdout
    # a floor no run can reach: the ratios are named and the exit is 1
    run = harness(tmp_path, *args, '--fail-below', '100')
    assert run.returncode == 1, run.stdout + run.stderr
    assert 'FELL branch / main: throughput' in run.stdout
    assert 'FELL branch / main: CPU per round trip' in run.stdout


@pytest.mark.parametrize('reply', ['ack', 'emit'])
def test_the_dispatch_tool_feeds_a_session_and_counts_its_replies(reply):
    # benchmarks/dispatch.py reaches into the transport's internals: it
    # must still run, and see a reply written per event
    run = subprocess.run(
        [sys.executable, str(ROOT / 'benchmarks' / 'dispatch.py'),
         '--reply', reply, '--events', '300', '--warm', '10'],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith(f'{reply}: ') and 'µs per event' in \
        run.stdout


def test_every_server_gets_a_core_of_its_own(tmp_path):
    # the load generator pins each server it starts to the first core and
    # itself to the second; the second server and later ones too (they
    # inherit its affinity, one core, and shared it with it before)
    script = '''
import json, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import _e2e
seen = []
for _ in range(3):
    server = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])
    _e2e.pin(server.pid)
    seen.append((sorted(os.sched_getaffinity(server.pid)),
                 sorted(os.sched_getaffinity(0))))
    server.kill()
    server.wait()
print(json.dumps([_e2e.CORES, seen]))
'''
    out = subprocess.run([sys.executable, '-c', script,
                          str(ROOT / 'benchmarks')], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    cores, seen = json.loads(out)
    if len(cores) >= 2:
        assert seen == [[[cores[0]], [cores[1]]]] * 3, out
    else:  # one core: nothing to pin
        assert seen == [[cores, cores]] * 3, out
