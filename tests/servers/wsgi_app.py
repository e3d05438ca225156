"""An app served by a WSGI server of the test's choosing (gunicorn's
workers): ``gunicorn wsgi_app:app``, in the async mode named by
``WSGI_APP_MODE`` (threading unless set; the gevent workers monkey-patch
before loading it).  Reports the process's thread count, and whether this
package's transport serves the client's WebSocket."""
import os
from flask import Flask, request

from flask_socketio import SocketIO, emit

app = Flask(__name__)
socketio = SocketIO(app, async_mode=os.environ.get('WSGI_APP_MODE',
                                                  'threading'))


@socketio.on('echo')
def echo(data):
    return data


@socketio.on('info')
def info():
    eio = socketio.server.eio
    eio_sid = socketio.server.manager.eio_sid_from_sid(request.sid, '/')
    return {'threads': len(os.listdir('/proc/self/task')),
            'native': eio.sockets[eio_sid]._ws is not None,
            'transport': eio.transport(eio_sid)}


@socketio.on('bcast')
def bcast(n):
    for i in range(n):
        emit('seq', i, broadcast=True)


@socketio.on('disconnect')
def left(reason):
    # the test reads which disconnect handlers ran from the output
    print(f'left {request.sid} {reason}', flush=True)
