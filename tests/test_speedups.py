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
    else:
        require(speedups.COMPILED, 'the compiled core is not built (no C '
                                   'compiler or Cython at install time?)')
        assert speedups.implementation == 'compiled'
        assert speedups.codec.__file__.endswith(('.so', '.pyd'))
        assert speedups.codec.COMPILED is True


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


@pytest.mark.once
@pytest.mark.timeout(600)
def test_wheel_carries_the_compiled_core(tmp_path):
    """Build the wheel as ./dev wheel does, install it where no compiler
    can run, and find the compiled core active.  (Marked ``once``: the
    pure-Python pass of ./dev test leaves it to the compiled pass.)"""
    wheels = tmp_path / 'wheels'
    build = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet',
         '--wheel-dir', str(wheels), str(clean_source(tmp_path))],
        env=dict(os.environ, FLASK_SOCKETIO_REQUIRE_EXTENSIONS='1',
                 FLASK_SOCKETIO_NO_EXTENSIONS=''),
        capture_output=True, text=True, timeout=500)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob('*.whl')
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith('flask_socketio/_speedups/codec_c') and
               n.endswith('.so') for n in names), names
    assert 'flask_socketio/_speedups/codec_py.py' in names
    assert not any(n.startswith('_speedups/') for n in names)

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
    check = subprocess.run(
        [python, '-s', '-c', 'import flask_socketio as f; '
         'print(f.speedups.implementation, f.speedups.codec.__file__)'],
        cwd=tmp_path, env=no_compiler, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    implementation, where = check.stdout.split()
    assert implementation == 'compiled'
    assert str(env_dir) in where and where.endswith('.so')


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
