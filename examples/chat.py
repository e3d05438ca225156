"""A multi-room chat on the official socket.io client, in one process.

    python examples/chat.py [--host 127.0.0.1] [--port 5000]

Open the printed URL in two browser tabs; add ``?transport=polling`` (or
``websocket``) to a tab's URL to hold it to one transport.  The page loads
``socket.io.min.js`` as Flask-SocketIO applications do, with a script tag:
from this server when npm's socket.io-client is in ``examples/node_modules``
(``./dev chat`` runs ``npm ci`` here), else from the socket.io CDN.
"""
import argparse
import threading

from flask import Flask, render_template, request, session

from flask_socketio import SocketIO, emit, join_room, leave_room

from client_bundle import serve_client

app = Flask(__name__)
app.config['SECRET_KEY'] = 'chat-example-not-secret'
socketio = SocketIO(app, async_mode='threading')
serve_client(app)

# who is where, for the user lists: handlers run concurrently, hence the lock
members = {}                        # room -> {sid: name}
members_lock = threading.Lock()


@app.route('/')
def index():
    return render_template('chat.html')


def move(sid, name=None, room=None):
    """Record `sid` as `name` in `room` (nowhere when None); return the room
    it was in before, and the user list of each room whose members changed."""
    with members_lock:
        old = next((r for r, names in members.items() if sid in names), None)
        if old is not None:
            del members[old][sid]
        if room is not None:
            members.setdefault(room, {})[sid] = name
        lists = {r: sorted(members.get(r, {}).values()) for r in (old, room)
                 if r is not None}
        for r in list(lists):
            if not members.get(r):
                members.pop(r, None)
        return old, lists


@socketio.on('join')
def on_join(data):
    """Join a room under a name (leaving the one before); the ack carries the
    room and its users.  The page sends it again after every reconnection."""
    data = data if isinstance(data, dict) else {}
    name = str(data.get('name') or '').strip()[:40] or 'guest'
    room = str(data.get('room') or '').strip()[:40] or 'lobby'
    old, lists = move(request.sid, name, room)
    if old is not None and old != room:
        leave_room(old)
        emit('status', f"{session.get('name', name)} left", to=old)
        emit('users', lists[old], to=old)
    session['name'], session['room'] = name, room
    join_room(room)
    emit('status', f'{name} joined {room}', to=room)
    emit('users', lists[room], to=room)
    return {'room': room, 'users': lists[room]}


@socketio.on('chat')
def on_chat(data):
    """Pass a message to the others in the room; the ack tells the sender it
    got through (the page shows the round trip's time)."""
    room = session.get('room')
    if room is None:
        return {'error': 'join a room first'}
    text = str(data.get('text', ''))[:500] if isinstance(data, dict) else ''
    emit('chat', {'name': session['name'], 'text': text}, to=room,
         include_self=False)
    return {'ok': True}


@socketio.on('disconnect')
def on_disconnect():
    room, lists = move(request.sid)
    if room is not None:
        emit('status', f"{session.get('name')} left", to=room)
        emit('users', lists[room], to=room)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=5000)
    args = parser.parse_args()
    print(f'Chat running on http://{args.host}:{args.port}/', flush=True)
    socketio.run(app, host=args.host, port=args.port,
                 allow_unsafe_werkzeug=True)


if __name__ == '__main__':
    main()
