"""gevent-mode server.  Usage: gevent_server.py PORT"""
from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from async_app import build  # noqa: E402

app, socketio = build('gevent')
socketio.run(app, host='127.0.0.1', port=int(sys.argv[1]))
print('run() returned', flush=True)
