"""A threading-mode app served by a WSGI server of the test's choosing
(gunicorn's threaded worker): ``gunicorn wsgi_app:app``.  Reports the
process's thread count, and whether this package's transport serves its
WebSockets."""
import threading

from flask import Flask, request

from flask_socketio import SocketIO, emit

app = Flask(__name__)
socketio = SocketIO(app, async_mode='threading')


@socketio.on('echo')
def echo(data):
    return data


@socketio.on('info')
def info():
    eio = socketio.server.eio
    return {'threads': threading.active_count(), 'native': eio.native,
            'transport': eio.transport(
                socketio.server.manager.eio_sid_from_sid(request.sid, '/'))}


@socketio.on('bcast')
def bcast(n):
    for i in range(n):
        emit('seq', i, broadcast=True)
