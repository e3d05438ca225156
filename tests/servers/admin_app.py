"""A server instrumented for python-socketio's Admin UI
(``socketio.server.instrument()``), for ``tests/test_admin_ui.py``.

Usage: admin_app.py PORT MODE   (threading, gevent or eventlet; the green
modes monkey-patched and run by ``socketio.run()``)

``hello`` joins the caller to room ``r1``, emits ``reply`` there and
acknowledges with ``'ok'``.
"""
import sys

if sys.argv[2] == 'gevent':
    from gevent import monkey
    monkey.patch_all()
elif sys.argv[2] == 'eventlet':
    import eventlet
    eventlet.monkey_patch()

from flask import Flask  # noqa: E402

from flask_socketio import SocketIO, emit, join_room  # noqa: E402

port, mode = int(sys.argv[1]), sys.argv[2]
app = Flask(__name__)
# pings every second, for the test to see their refreshes; a short timeout
# because python-socketio's polling client may stop without telling the
# server (when its pong's POST is in flight as it disconnects)
socketio = SocketIO(app, async_mode=mode, ping_interval=1, ping_timeout=2)
socketio.server.instrument(auth=False, server_stats_interval=0.5)


@socketio.on('hello')
def hello(data):
    join_room('r1')
    emit('reply', data, to='r1')
    return 'ok'


if __name__ == '__main__':
    socketio.run(app, host='127.0.0.1', port=port, log_output=False,
                 allow_unsafe_werkzeug=True)
