"""The app of ``tests/test_event_path.py``, built in the test process for
threading mode and run by this script for the green modes, as
``event_path_app.py PORT MODE SHORT ASYNC_HANDLERS`` (``gevent`` or
``eventlet``, monkey-patched, served by ``socketio.run()``; ``short`` or
``regular``; ``async`` or ``in-order``).  ``GET /record`` tells what the
handlers saw and the server logged, ``DELETE /record`` clears it."""
import sys

if __name__ == '__main__' and sys.argv[2] == 'gevent':
    from gevent import monkey
    monkey.patch_all()
elif __name__ == '__main__' and sys.argv[2] == 'eventlet':
    import eventlet
    eventlet.monkey_patch()

import logging  # noqa: E402

import flask  # noqa: E402
from flask import Flask, request  # noqa: E402

from flask_socketio import Namespace, SocketIO, emit, join_room  # noqa: E402


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        if record.levelno >= logging.WARNING or 'event' in str(record.msg):
            self.lines.append(record.getMessage())


def build(short, async_handlers, async_mode='threading'):
    log = logging.getLogger(
        f'tests.event_path.{async_mode}.{short}.{async_handlers}')
    log.setLevel(logging.INFO)  # the short way logs as the regular path
    log.propagate = False
    lines = Lines()
    log.addHandler(lines)
    app = Flask(__name__)
    sio = SocketIO(app, async_mode=async_mode, logger=log,
                   async_handlers=async_handlers)
    calls = []

    def seen(*what):
        calls.append((request.namespace, request.event['message'], *what))

    @sio.on('echo')
    def echo(*args):
        seen(args)
        return args

    @sio.on('none')
    def none():
        seen()

    @sio.on('one')
    def one(value):
        seen(value)
        return [value]

    @sio.on('pair')
    def pair():
        seen()
        return 'a', 2

    @sio.on('boom')
    def boom():
        seen()
        raise RuntimeError('boom')

    @sio.on('bytes')
    def some_bytes():
        seen()
        return b'\x01\x02'

    @sio.on('message')
    def message(data):
        seen(data)
        return 'message'

    @sio.on('*')
    def any_event(event, *args):
        seen(event, args)
        return event

    @sio.on('fail', namespace='/err')
    def fail():
        seen()
        raise ValueError('bad')

    @sio.on_error('/err')
    def handled(exc):
        return f'handled {exc}'

    @sio.on('back')
    def back(data):
        seen(data)
        emit('back', data)
        emit('back', (data, 2))

    @sio.on('to room')
    def to_room(room):
        join_room(room)
        emit('in room', room, to=room)

    @sio.on('not me')
    def not_me(room):
        emit('in room', room, to=room, include_self=False)

    @sio.on('bytes back')
    def bytes_back():
        emit('bytes', b'\x03')

    @sio.on('to gone')
    def to_gone():
        sio.emit('gone', 1, to='AAAAAAAAAAAAAAAAAAAA')  # never connected

    @sio.on('disconnect')
    def bye(reason=None):
        seen(reason)

    @sio.on('done')
    def done():
        return 'done'

    class Chat(Namespace):
        def on_hello(self, name):
            seen(name)
            return 'hi ' + name

        def on_echo(self, value):
            seen(value)
            return value

        def on_back(self, value):
            emit('back', value)

    sio.on_namespace(Chat('/chat'))
    sio.on_namespace(Namespace('/err'))  # joinable; its handler is above
    @app.route('/record', methods=['GET', 'DELETE'])
    def record():
        # what the handlers saw (each item as text) and the server logged,
        # for a test in another process; DELETE clears them
        if flask.request.method == 'DELETE':
            del calls[:], lines.lines[:]
        return flask.jsonify(calls=[[str(c) for c in call] for call in calls],
                             lines=lines.lines)

    if not short:  # (an emit's short way to one client goes with it)
        sio.server.eio.events = None
    else:
        assert sio.server.eio.events is sio.server
    return app, sio, calls, lines


if __name__ == '__main__':
    port, mode = int(sys.argv[1]), sys.argv[2]
    app, sio, _, _ = build(sys.argv[3] == 'short', sys.argv[4] == 'async',
                           mode)
    sio.run(app, host='127.0.0.1', port=port)
