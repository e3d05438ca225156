"""Which core runs, how it is chosen, and the wheel that carries it."""
import os
import shutil
import subprocess
import sys
import venv
import zipfile

import pytest
import socketio

import flask_socketio
from conftest import ROOT, require

FORCED_PURE = bool(os.environ.get('FLASK_SOCKETIO_NO_EXTENSIONS'))


def clean_source(tmp_path):
    """The project's files alone (what git tracks, or would): no build/
    directory or in-place .so of an earlier build to end up in a wheel."""
    listed = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard'],
        cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    dest = tmp_path / 'src-copy'
    for name in listed:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def test_the_expected_core_is_active():
    speedups = flask_socketio.speedups
    if FORCED_PURE:
        assert speedups.implementation == 'pure'
        assert speedups.codec.__name__.endswith('codec_py')
        assert speedups.websocket.__name__.endswith('websocket_py')
    else:
        require(speedups.COMPILED, 'the compiled core is not built (no C '
                                   'compiler or Cython at install time?)')
        assert speedups.implementation == 'compiled'
        assert speedups.codec.__file__.endswith(('.so', '.pyd'))
        assert speedups.codec.COMPILED is True
        assert speedups.websocket.__file__.endswith(('.so', '.pyd'))
        assert speedups.websocket.COMPILED is True


def test_the_environment_variable_forces_pure_python():
    out = subprocess.run(
        [sys.executable, '-c', 'import flask_socketio; '
         'print(flask_socketio.speedups.implementation)'],
        env=dict(os.environ, FLASK_SOCKETIO_NO_EXTENSIONS='1'),
        capture_output=True, text=True, check=True)
    assert out.stdout.strip() == 'pure'


def test_servers_use_the_core_unless_given_json_or_a_serializer():
    from flask import Flask
    from flask_socketio import SocketIO
    assert SocketIO(Flask('a')).server.packet_class is \
        flask_socketio.speedups.Packet

    import json as std_json
    with_json = SocketIO(Flask('b'), json=std_json).server.packet_class
    assert issubclass(with_json, socketio.packet.Packet)
    assert with_json.json is std_json   # the user's json= wins

    class Custom(socketio.packet.Packet):
        pass
    assert SocketIO(Flask('c'), serializer=Custom).server.packet_class \
        is Custom


def test_startup_log_names_the_core(caplog):
    import logging

    from flask import Flask
    from flask_socketio import SocketIO
    with caplog.at_level(logging.DEBUG, logger='flask_socketio'):
        SocketIO(Flask('d'))
    assert any(f'{flask_socketio.speedups.implementation} codec' in r.message
               for r in caplog.records)


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory):
    """The wheel built as ./dev wheel builds it, installed in a new virtual
    environment where no compiler can run: (wheel, python, environ)."""
    tmp_path = tmp_path_factory.mktemp('wheel')
    wheels = tmp_path / 'wheels'
    build = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet',
         '--wheel-dir', str(wheels), str(clean_source(tmp_path))],
        env=dict(os.environ, FLASK_SOCKETIO_REQUIRE_EXTENSIONS='1',
                 FLASK_SOCKETIO_NO_EXTENSIONS=''),
        capture_output=True, text=True, timeout=500)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob('*.whl')
    env_dir = tmp_path / 'venv'
    venv.create(env_dir, with_pip=True)
    python = str(env_dir / 'bin' / 'python')
    no_compiler = dict(os.environ, CC='false', CXX='false',
                       PIP_DISABLE_PIP_VERSION_CHECK='1')
    no_compiler.pop('FLASK_SOCKETIO_NO_EXTENSIONS', None)
    install = subprocess.run(
        [python, '-m', 'pip', 'install', '--quiet', '--only-binary', ':all:',
         str(wheel)], env=no_compiler, capture_output=True, text=True,
        timeout=500)
    assert install.returncode == 0, install.stderr[-3000:]
    return wheel, python, no_compiler


@pytest.mark.once
@pytest.mark.timeout(600)
def test_wheel_carries_the_compiled_core(installed_wheel, tmp_path):
    """Install the wheel where no compiler can run, and find the compiled
    core active.  (Marked ``once``: the pure-Python pass of ./dev test
    leaves it to the compiled pass.)"""
    wheel, python, no_compiler = installed_wheel
    names = zipfile.ZipFile(wheel).namelist()
    for module in ('codec', 'websocket'):
        assert any(n.startswith(f'flask_socketio/_speedups/{module}_c') and
                   n.endswith('.so') for n in names), names
        assert f'flask_socketio/_speedups/{module}_py.py' in names
    assert not any(n.startswith('_speedups/') for n in names)
    check = subprocess.run(
        [python, '-s', '-c', 'import flask_socketio as f; '
         'print(f.speedups.implementation, f.speedups.codec.__file__)'],
        cwd=tmp_path, env=no_compiler, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    implementation, where = check.stdout.split()
    assert implementation == 'compiled'
    assert str(wheel.parent.parent / 'venv') in where
    assert where.endswith('.so')


def _fake_wheel(directory, name, version, files, requires=()):
    """A minimal wheel: enough for pip to resolve and install it."""
    import base64
    import hashlib
    dist = name.replace('-', '_')
    info = f'{dist}-{version}.dist-info'
    files = dict(files)
    files[f'{info}/METADATA'] = ''.join(
        [f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n'] +
        [f'Requires-Dist: {r}\n' for r in requires])
    files[f'{info}/WHEEL'] = ('Wheel-Version: 1.0\nGenerator: tests\n'
                              'Root-Is-Purelib: true\nTag: py3-none-any\n')
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(
            hashlib.sha256(text.encode()).digest()).rstrip(b'=').decode()
        record.append(f'{path},sha256={digest},{len(text.encode())}')
    files[f'{info}/RECORD'] = '\n'.join(record + [f'{info}/RECORD,,']) + '\n'
    target = directory / f'{dist}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(target, 'w') as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return target


@pytest.mark.once
@pytest.mark.timeout(600)
def test_the_wheel_replaces_stock_flask_socketio(installed_wheel, tmp_path):
    """Installed, this package is flask-socketio to pip and to
    importlib.metadata: a dependency that requires flask-socketio is
    satisfied by it, and pip does not put stock on top of it (same import
    name), neither installing a requirements file that names the wheel
    beside such a dependency, nor installing the dependency later, even
    with a newer stock on the index."""
    wheel, python, env = installed_wheel
    index = tmp_path / 'index'
    index.mkdir()
    stock = {'flask_socketio/__init__.py': 'STOCK = True\n'}
    for version in ('5.7.0', '5.9.0'):
        _fake_wheel(index, 'flask-socketio', version, stock)
    _fake_wheel(index, 'chat-extension', '1.0',
                {'chat_extension/__init__.py': ''},
                requires=['flask-socketio>=5.3'])
    requirements = tmp_path / 'requirements.txt'
    requirements.write_text(f'flask-socketio @ {wheel.as_uri()}\n'
                            f'chat-extension\n')

    def pip(*args):
        result = subprocess.run(
            [python, '-m', 'pip', 'install', '--quiet', '--no-index',
             '--find-links', str(index), *args], env=env,
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr

    def installed():
        result = subprocess.run(
            [python, '-s', '-c',
             'import importlib.metadata as m, flask_socketio as f; '
             'print(m.version("flask-socketio"), '
             'hasattr(f, "STOCK"), f.speedups.implementation)'],
            cwd=tmp_path, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.split()

    version = installed()[0]
    assert version == flask_socketio.__version__
    assert version.startswith('5.7.0+')
    pip('-r', str(requirements))
    assert installed() == [version, 'False', 'compiled']
    pip('--force-reinstall', '--no-deps', 'chat-extension')
    pip('chat-extension', '--upgrade')
    assert installed() == [version, 'False', 'compiled']


def test_fastjson_module_as_a_json_option():
    """The orjson-backed module works wherever a ``json`` module does,
    e.g. as the ``json=`` option (which then wins over the codec's own)."""
    import json as std_json

    from flask import Flask
    from flask_socketio import SocketIO
    from flask_socketio._speedups import fastjson

    value = {'caf\u00e9': [1, 2.5, None, True, 2**70], 'k': {'n': 'x'}}
    assert fastjson.dumps(value, separators=(',', ':')) == \
        std_json.dumps(value, separators=(',', ':'))
    assert fastjson.dumps(value) == std_json.dumps(value)  # stdlib options
    assert fastjson.loads(std_json.dumps(value)) == value

    app = Flask('fast')
    sio = SocketIO(app, json=fastjson)
    assert sio.server.packet_class.json is fastjson

    @sio.on('echo')
    def echo(data):
        return data
    client = sio.test_client(app)
    assert client.emit('echo', value, callback=True) == value


@pytest.mark.once
@pytest.mark.timeout(600)
def test_failed_compile_gives_a_pure_install_or_fails_when_required(
        tmp_path):
    """With no working C compiler the build still succeeds, pure, with a
    warning; with FLASK_SOCKETIO_REQUIRE_EXTENSIONS=1 it fails instead."""
    env = dict(os.environ, CC='false', LDSHARED='false',
               FLASK_SOCKETIO_NO_EXTENSIONS='')
    env.pop('FLASK_SOCKETIO_REQUIRE_EXTENSIONS', None)
    source = clean_source(tmp_path)

    def build(dest, **extra):
        return subprocess.run(
            [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--verbose',
             '--wheel-dir', str(dest), str(source)],
            env=dict(env, **extra), capture_output=True, text=True,
            timeout=500)

    result = build(tmp_path / 'pure')
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'building the compiled core failed' in result.stdout + \
        result.stderr
    (wheel,) = (tmp_path / 'pure').glob('*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    assert 'flask_socketio/_speedups/codec_py.py' in names
    assert not any(n.endswith('.so') for n in names)

    required = build(tmp_path / 'required',
                     FLASK_SOCKETIO_REQUIRE_EXTENSIONS='1')
    assert required.returncode != 0
    assert not list((tmp_path / 'required').glob('*.whl'))
