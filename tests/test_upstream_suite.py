"""Flask-SocketIO's own test suite, run unchanged against this package.

It is the best proof of "drop-in": an application test suite written for
Flask-SocketIO 5.x.  The suite is taken from Flask-SocketIO's source
distribution on PyPI at test time (it is not part of this repository) and
run in a subprocess with this package installed as ``flask_socketio``.
"""
import subprocess
import sys
import tarfile

from conftest import ROOT, require

UPSTREAM = 'flask-socketio==5.7.0'
CACHE = ROOT / '.cache' / 'upstream'


def _upstream_suite():
    sdists = sorted(CACHE.glob('flask_socketio-*.tar.gz'))
    if not sdists:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, '-m', 'pip', 'download', '--quiet',
                        '--no-deps', '--no-binary', ':all:', '--dest',
                        str(CACHE), UPSTREAM], capture_output=True,
                       timeout=300)
        sdists = sorted(CACHE.glob('flask_socketio-*.tar.gz'))
    require(bool(sdists), f'could not download the {UPSTREAM} sdist from '
                          f'the package index')
    with tarfile.open(sdists[-1]) as tar:
        member = next(m for m in tar.getmembers()
                      if m.name.endswith('/test_socketio.py'))
        target = CACHE / 'test_socketio.py'
        target.write_bytes(tar.extractfile(member).read())
    return target


def test_flask_socketio_suite_passes_unchanged():
    suite = _upstream_suite()
    # the package the suite will import is this one, not Flask-SocketIO
    subprocess.run([sys.executable, '-c', 'import flask_socketio._engine'],
                   cwd=suite.parent, check=True)
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
         '--rootdir', str(suite.parent), str(suite)],
        cwd=suite.parent, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    assert ' passed' in result.stdout and 'failed' not in result.stdout
