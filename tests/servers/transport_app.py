"""The application of the transport tests (``tests/test_transport.py``),
built in the test process for threading mode and run by this script, as
``transport_app.py PORT MODE``, for the green modes:

- ``gevent``: monkey-patched, ``socketio.run()`` (gevent's pywsgi with
  gevent-websocket's handler, which answers the WebSocket handshake
  itself);
- ``gevent-pywsgi``: monkey-patched, gevent's pywsgi with its own handler;
- ``eventlet``: monkey-patched, ``socketio.run()`` (eventlet's server).

``GET /state`` tells what the tests check on the server: the reasons its
disconnect handlers saw, the sessions open, its log lines, OS threads and
connections on the transport.  Emits from native OS threads (not
greenlets) come from ``native_streams``.
"""
import sys

if __name__ == '__main__' and sys.argv[2].startswith('gevent'):
    from gevent import monkey
    monkey.patch_all()
elif __name__ == '__main__' and sys.argv[2] == 'eventlet':
    import eventlet
    eventlet.monkey_patch()

import contextvars  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from flask import Flask, jsonify, request  # noqa: E402

from flask_socketio import SocketIO, emit  # noqa: E402

MAX_SIZE = 100_000
BACKLOG = 256 * 1024
MAX_HANDLERS = 8


class Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def native_thread(target, *args):
    """Start ``target`` on an OS thread even where threading is patched."""
    if 'gevent' in sys.modules:
        from gevent import monkey
        start = monkey.get_original('_thread', 'start_new_thread')
    elif 'eventlet' in sys.modules:
        from eventlet import patcher
        start = patcher.original('_thread').start_new_thread
    else:
        import _thread
        start = _thread.start_new_thread
    start(target, args)


def build(async_mode):
    log = logging.getLogger(f'tests.transport.{async_mode}')
    log.setLevel(logging.WARNING)
    log.propagate = False
    lines = Lines()
    log.addHandler(lines)
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=async_mode, logger=log,
                        max_http_buffer_size=MAX_SIZE,
                        max_backlog_size=BACKLOG,
                        max_client_handlers=MAX_HANDLERS,
                        ping_interval=0.5, ping_timeout=1)
    reasons = []

    @app.route('/state')
    def state():
        eio = socketio.server.eio
        conns = [s._ws for s in list(eio.sockets.values())
                 if s._ws is not None]
        loop = conns[0].loop if conns else None
        return jsonify(native=eio.native, reasons=reasons,
                       sessions=list(eio.sockets), log=lines.lines,
                       threads=len(os.listdir('/proc/self/task')),
                       most_handlers=running['most'],
                       connections=len(loop) if loop is not None else 0)

    @socketio.on('disconnect')
    def disconnect(reason):
        reasons.append(reason)

    @socketio.on('echo')
    def echo(data):
        return data

    mark = contextvars.ContextVar('mark', default='fresh')
    worker = threading.local()  # per greenlet where threading is patched

    @socketio.on('whereami')
    def whereami():
        # the thread that runs the handler, what an earlier handler left
        # in its context, and how many handlers its thread (or greenlet)
        # has run
        seen = mark.get()
        mark.set('left by a handler')
        worker.runs = getattr(worker, 'runs', 0) + 1
        return threading.current_thread().name, seen, worker.runs

    @socketio.on('slow')
    def slow(tag, seconds):
        # blocks this handler only: the client's other events, and other
        # clients, go on meanwhile
        socketio.sleep(seconds)
        return [tag, request.event['args'][0], request.sid]

    running = {'now': 0, 'most': 0}
    count_lock = threading.Lock()

    @socketio.on('hold')
    def hold(seconds):
        # how many of these run at once (max_client_handlers bounds it)
        with count_lock:
            running['now'] += 1
            running['most'] = max(running['most'], running['now'])
        try:
            socketio.sleep(seconds)
        finally:
            with count_lock:
                running['now'] -= 1
        return 'held'

    @socketio.on('ask_back')
    def ask_back(n):
        # a handler that waits for the client's acknowledgement
        return socketio.call('question', n, to=request.sid, timeout=3)

    @socketio.on('stall')
    def stall(tag, seconds):
        # blocks without telling the server (time.sleep, not patched in
        # threading mode): the loop's watchdog sees to the others
        time.sleep(seconds)
        return [tag, request.event['args'][0], request.sid]

    @socketio.on('compute')
    def compute(seconds):
        # holds its thread on the CPU (and the GIL, but at switches)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
        return 'computed'

    @socketio.on('disconnect', namespace='/polite')
    def polite_disconnect(reason):
        emit('left', reason, broadcast=True, namespace='/polite')
        reasons.append(('/polite', reason))

    @socketio.on('flood')
    def flood(count, size):
        for i in range(count):
            emit('chunk', {'n': i, 'pad': 'x' * size}, broadcast=True)
        return count

    @socketio.on('relay')
    def relay(n, size=0):
        emit('chunk', {'n': n, 'pad': 'x' * size}, broadcast=True)
        return n

    def stream(sid, t, count, size):
        for i in range(count):
            socketio.emit('seq', [t, i, 'x' * size], to=sid)

    @socketio.on('streams')
    def streams(threads, count, size=0):
        # threads of the mode (greenlets where threading is patched)
        workers = [threading.Thread(target=stream,
                                    args=(request.sid, t, count, size))
                   for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return 'done'

    @socketio.on('native_streams')
    def native_streams(threads, count, size=0):
        # OS threads, not waited for: the mode's primitives are not
        # theirs to use
        for t in range(threads):
            native_thread(stream, request.sid, t, count, size)
        return 'started'

    socketio.reasons = reasons
    socketio.log_lines = lines
    return app, socketio


if __name__ == '__main__':
    port, mode = int(sys.argv[1]), sys.argv[2]
    app, socketio = build(mode.split('-')[0])
    if mode == 'gevent-pywsgi':
        from gevent import pywsgi
        pywsgi.WSGIServer(('127.0.0.1', port), app,
                          log=None).serve_forever()
    else:
        socketio.run(app, host='127.0.0.1', port=port)
