"""The application served by gevent_server.py and eventlet_server.py (each
monkey-patches first, then imports this module)."""
from flask import Flask, request

from flask_socketio import (ConnectionRefusedError, SocketIO, call, emit,
                            join_room, rooms, speedups)

TOKEN = 'secret'


def build(async_mode):
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode=async_mode)

    @socketio.on('connect')
    def on_connect(auth):
        if not auth or auth.get('token') != TOKEN:
            raise ConnectionRefusedError('bad token')
        emit('welcome', {'async_mode': socketio.async_mode,
                         'sid': request.sid, 'user': auth.get('user')})

    @socketio.on('info')
    def on_info():
        return {'async_mode': socketio.async_mode,
                'engine_mode': socketio.server.eio.async_mode,
                'core': speedups.implementation,
                'server': type(socketio.wsgi_server).__module__,
                'sid': request.sid}

    @socketio.on('echo')
    def on_echo(data):
        return data

    @socketio.on('binary')
    def on_binary(data):
        blob = data['blob']
        return {'size': len(blob), 'reversed': blob[::-1],
                'is_bytes': isinstance(blob, bytes)}

    @socketio.on('broadcast')
    def on_broadcast(data):
        emit('bcast', data, broadcast=True)
        return True

    @socketio.on('join')
    def on_join(room):
        join_room(room)
        return sorted(rooms())

    @socketio.on('to_room')
    def on_to_room(msg):
        emit('room_msg', msg['data'], to=msg['room'])
        return True

    @socketio.on('ask')
    def on_ask(question):
        # the server calls the client back and waits for its answer
        return {'answer': call('question', question, timeout=5)}

    @socketio.on('ticker')
    def on_ticker(count):
        sid = request.sid

        def tick():
            for i in range(count):
                socketio.emit('tick', i, to=sid)
                socketio.sleep(0.02)
            return count

        task = socketio.start_background_task(tick)
        task.join()
        socketio.start_background_task(tick)  # left running: ticks again
        return 'joined'

    @socketio.on('stop')
    def on_stop():
        socketio.stop()
        return 'stopping'

    return app, socketio
