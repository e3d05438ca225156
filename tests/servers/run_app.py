"""An application that calls ``socketio.run()`` as applications do, at the
end of the module and without a ``__main__`` guard (so that ``flask run``
imports it and meets the call).  Configured through the environment, which
the reloader's child inherits: RUN_APP_PORT, RUN_APP_MODE (the async mode,
empty for the default) and RUN_APP_OPTIONS (run()'s keyword arguments, as
JSON)."""
import json
import os

from flask import Flask

from flask_socketio import SocketIO

app = Flask(__name__)
socketio = SocketIO(app, async_mode=os.environ.get('RUN_APP_MODE') or None)


@socketio.on('whoami')
def whoami():
    return {'pid': os.getpid(), 'async_mode': socketio.async_mode}


@socketio.on('stop')
def stop():
    socketio.stop()


socketio.run(app, port=int(os.environ['RUN_APP_PORT']),
             **json.loads(os.environ.get('RUN_APP_OPTIONS', '{}')))
print('run() returned', flush=True)
