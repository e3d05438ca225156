"""A small multi-room chat on the in-memory default (one process).

    python examples/chat.py [--host 127.0.0.1] [--port 5000]

Open the printed URL in two browser tabs.  To need nothing beyond this
file, the page speaks the Socket.IO protocol itself over a WebSocket (a
dozen lines of JavaScript below); any socket.io client works the same.
"""
import argparse

from flask import Flask, request, session

from flask_socketio import SocketIO, emit, join_room, leave_room, rooms

app = Flask(__name__)
app.config['SECRET_KEY'] = 'chat-example-not-secret'
socketio = SocketIO(app, async_mode='threading')

PAGE = """<!doctype html>
<meta charset="utf-8"><title>flask-socketio-fast chat</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}
#log{border:1px solid #ccc;height:20em;overflow-y:auto;padding:.5em}</style>
<h1>Chat</h1>
<p>Name <input id="name" value="guest"> Room <input id="room" value="lobby">
<button id="join">Join</button></p>
<div id="log"></div>
<p><input id="text" size="50"> <button id="send">Send</button></p>
<script>
// A minimal Socket.IO v4 client over WebSocket: events and acks on '/'.
function io() {
  const ws = new WebSocket((location.protocol === 'https:' ? 'wss' : 'ws') +
                           '://' + location.host + '/socket.io/?EIO=4&transport=websocket');
  const handlers = {}, acks = {}; let next = 0;
  const sock = { id: null, on: (ev, fn) => { handlers[ev] = fn; },
    emit: (ev, ...args) => { let id = '';
      if (typeof args[args.length - 1] === 'function') { id = next++; acks[id] = args.pop(); }
      ws.send('42' + id + JSON.stringify([ev, ...args])); } };
  ws.onmessage = (m) => { const d = m.data;
    if (d[0] === '0') ws.send('40');                      // open -> connect '/'
    else if (d === '2') ws.send('3');                     // ping -> pong
    else if (d.startsWith('40')) { sock.id = JSON.parse(d.slice(2)).sid;
                                   handlers.connect && handlers.connect(); }
    else if (d.startsWith('42')) { const [ev, ...a] = JSON.parse(d.slice(2));
                                   handlers[ev] && handlers[ev](...a); }
    else if (d.startsWith('43')) { const i = d.indexOf('[');
      const id = +d.slice(2, i); acks[id] && acks[id](...JSON.parse(d.slice(i)));
      delete acks[id]; } };
  return sock;
}
const log = (line) => { const p = document.createElement('div');
  p.textContent = line; const l = document.getElementById('log');
  l.appendChild(p); l.scrollTop = l.scrollHeight; };
const socket = io();
socket.on('connect', () => log('* connected as ' + socket.id));
socket.on('status', (m) => log('* ' + m));
socket.on('chat', (m) => log(m.name + ': ' + m.text));
const val = (id) => document.getElementById(id).value;
socket.on('connect', () => log('* connected as ' + socket.id));
socket.on('status', (m) => log('* ' + m));
socket.on('chat', (m) => log(m.name + ': ' + m.text));
document.getElementById('join').onclick = () =>
  socket.emit('join', {name: val('name'), room: val('room')},
              (rooms) => log('* your rooms: ' + rooms.join(', ')));
document.getElementById('send').onclick = () => {
  socket.emit('chat', {text: val('text')});
  document.getElementById('text').value = ''; };
</script>
"""


@app.route('/')
def index():
    return PAGE


@socketio.on('join')
def on_join(data):
    """Leave the previous room, join the new one; the ack lists the rooms."""
    for room in rooms():
        if room != request.sid:
            leave_room(room)
            emit('status', f"{session.get('name')} left", to=room)
    session['name'] = str(data.get('name') or 'guest')[:40]
    session['room'] = str(data.get('room') or 'lobby')[:40]
    join_room(session['room'])
    emit('status', f"{session['name']} joined {session['room']}",
         to=session['room'])
    return rooms()


@socketio.on('chat')
def on_chat(data):
    room = session.get('room')
    if room is None:
        emit('status', 'join a room first')
        return
    emit('chat', {'name': session['name'],
                  'text': str(data.get('text', ''))[:500]}, to=room)


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
