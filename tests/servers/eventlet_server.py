"""eventlet-mode server.  Usage: eventlet_server.py PORT"""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402

from async_app import build  # noqa: E402

app, socketio = build('eventlet')
socketio.run(app, host='127.0.0.1', port=int(sys.argv[1]))
print('run() returned', flush=True)
