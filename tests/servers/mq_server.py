"""A threading-mode server that shares a Redis message queue with others.

Usage: mq_server.py PORT REDIS_URL CHANNEL NAME

Events (all acknowledge, so a client knows the emit has been made):
- ``info``: this server's name, the caller's sid, async mode, manager.
- ``join`` ROOM / ``leave`` ROOM: the caller enters / leaves ROOM.
- ``join_sid`` {sid, room}: put another client (maybe on another server)
  in ROOM.
- ``emit_to`` {event, data, to}: ``emit(event, data, to=to)``.
- ``emit_broadcast`` {event, data}: ``emit(event, data, broadcast=True)``.
- ``call_sid`` {sid, event, data}: ``socketio.call(...)`` to that client and
  return its answer.
HTTP: ``POST /emit`` JSON {event, data, to?} runs ``socketio.emit``.
"""
import sys

from flask import Flask, jsonify, request

from flask_socketio import SocketIO, emit, join_room, leave_room, rooms

port, redis_url, channel, name = (int(sys.argv[1]), sys.argv[2],
                                  sys.argv[3], sys.argv[4])

app = Flask(__name__)
socketio = SocketIO(app, message_queue=redis_url, channel=channel,
                    async_mode='threading')


@socketio.on('info')
def info():
    manager = socketio.server.manager
    return {'server': name, 'sid': request.sid,
            'async_mode': socketio.async_mode,
            'manager': type(manager).__name__,
            'channel': manager.channel, 'write_only': manager.write_only}


@socketio.on('join')
def on_join(room):
    join_room(room)
    return sorted(rooms())


@socketio.on('leave')
def on_leave(room):
    leave_room(room)
    return sorted(rooms())


@socketio.on('join_sid')
def on_join_sid(msg):
    join_room(msg['room'], sid=msg['sid'])
    return True


@socketio.on('emit_to')
def on_emit_to(msg):
    emit(msg['event'], msg['data'], to=msg['to'])
    return True


@socketio.on('emit_broadcast')
def on_emit_broadcast(msg):
    emit(msg['event'], msg['data'], broadcast=True)
    return True


@socketio.on('call_sid')
def on_call_sid(msg):
    return socketio.call(msg['event'], msg['data'], to=msg['sid'], timeout=5)


@app.route('/emit', methods=['POST'])
def http_emit():
    msg = request.get_json()
    socketio.emit(msg['event'], msg['data'], to=msg.get('to'))
    return jsonify(ok=True, server=name)


if __name__ == '__main__':
    socketio.run(app, host='127.0.0.1', port=port,
                 allow_unsafe_werkzeug=True)
