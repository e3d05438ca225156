"""``socketio.run()`` as a developer meets it, in a process of its own: the
start-up banner, the reloader (threading and gevent), ``debug=True`` and
``flask run``.  In threading mode run() hands over to ``app.run()``, as
Flask-SocketIO does, so all of this is Flask's and Werkzeug's own."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import socketio as sio_lib

from conftest import free_port, wait_for_port, wait_until
from _peers import SERVERS, TIMEOUT

pytestmark = pytest.mark.once  # nothing here depends on the codec build


class App:
    """``tests/servers/run_app.py`` (or a command importing it) in a new
    session, so that the reloader's child goes down with it."""

    def __init__(self, tmp_path: Path, python: str, options=None, mode='',
                 command=None):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log = tmp_path / 'output.txt'
        env = dict(os.environ, PYTHONUNBUFFERED='1',
                   RUN_APP_PORT=str(self.port), RUN_APP_MODE=mode,
                   RUN_APP_OPTIONS=json.dumps(options or {}))
        env.pop('FLASK_RUN_FROM_CLI', None)
        command = [part.format(port=self.port) for part in
                   command or [python, str(SERVERS / 'run_app.py')]]
        with open(self.log, 'w') as out:
            self.proc = subprocess.Popen(
                command,
                cwd=SERVERS, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_port(self.port, proc=self.proc)
        except Exception:
            self.kill()
            raise AssertionError(f'no server:\n{self.output()}')

    def output(self) -> str:
        return self.log.read_text()

    def wait_output(self, text: str) -> str:
        assert wait_until(lambda: text in self.output(), TIMEOUT), \
            f'{text!r} not in the output:\n{self.output()}'
        return self.output()

    def whoami(self) -> dict:
        client = sio_lib.Client(reconnection=False)
        client.connect(self.url, transports=['websocket'],
                       wait_timeout=TIMEOUT)
        try:
            return client.call('whoami', timeout=TIMEOUT)
        finally:
            client.disconnect()

    def stop(self) -> int:
        """Stop through socketio.stop(); returns the exit code."""
        client = sio_lib.Client(reconnection=False)
        client.connect(self.url, transports=['websocket'],
                       wait_timeout=TIMEOUT)
        client.emit('stop')
        try:
            return self.proc.wait(TIMEOUT)
        finally:
            client.disconnect()

    def kill(self) -> None:
        """End the session: the process and a reloader's child with it."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(TIMEOUT)


@pytest.fixture
def start(tmp_path):
    started = []

    def start_app(python=sys.executable, **kwargs):
        app = App(tmp_path, python, **kwargs)
        started.append(app)
        return app
    yield start_app
    for app in started:
        app.kill()


def test_threading_banner_as_app_run_prints_it(start):
    app = start(options={'allow_unsafe_werkzeug': True})
    out = app.wait_output('Press CTRL+C to quit')
    for line in ("* Serving Flask app 'run_app'", '* Debug mode: off',
                 'WARNING: This is a development server.',
                 f'* Running on http://127.0.0.1:{app.port}'):
        assert line in out, out
    assert app.whoami()['async_mode'] == 'threading'
    assert app.stop() == 0
    assert 'run() returned' in app.output()


def test_threading_reloader_announces_and_serves_from_its_child(start):
    app = start(options={'allow_unsafe_werkzeug': True, 'debug': True})
    # werkzeug's parent prints the banner, then restarts in a child
    app.wait_output(f'* Running on http://127.0.0.1:{app.port}')
    out = app.wait_output('* Debugger is active!')
    assert '* Debug mode: on' in out and '* Restarting with' in out, out
    assert app.whoami()['pid'] != app.proc.pid  # the reloader's child
    # stop() ends the child's run(), then the reloader ends with it
    assert app.stop() == 0


def test_flask_run_ignores_the_call_and_serves(start):
    # the module's socketio.run() would block the CLI: it says so, returns,
    # and the CLI's own server serves the app, Socket.IO included
    app = start(options={'allow_unsafe_werkzeug': True},
                command=[sys.executable, '-m', 'flask', '--app', 'run_app',
                         'run', '--port', '{port}'])
    out = app.wait_output(f'* Running on http://127.0.0.1:{app.port}')
    assert "Ignoring a call to 'app.run()'" in out, out
    assert 'run() returned' in out, out
    assert app.whoami()['async_mode'] == 'threading'


@pytest.mark.parametrize('options', [{'debug': True},
                                     {'use_reloader': True}])
def test_gevent_reloader_serves(start, async_python, options):
    app = start(python=async_python, mode='gevent', options=options)
    app.wait_output('* Restarting with')
    assert wait_until(lambda: _answers(app), TIMEOUT), app.output()
    answer = app.whoami()
    assert answer['async_mode'] == 'gevent'
    assert answer['pid'] != app.proc.pid
    assert 'LoopExit' not in app.output()


def _answers(app):
    try:
        app.whoami()
        return True
    except Exception:
        return False
