"""One of the scale-out example's servers (``scale_out.py`` starts two):
a Flask-SocketIO app whose emits reach the clients of every server sharing
its Redis, whoever is connected where.

    python examples/scale_out_server.py --name s1 --port 5001 \\
        [--redis redis://127.0.0.1:6379/0] [--channel flask-socketio-example]
"""
import argparse
import logging

from flask import Flask, render_template, request

from flask_socketio import SocketIO, emit, join_room

from client_bundle import serve_client

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--name', required=True)
parser.add_argument('--host', default='127.0.0.1')
parser.add_argument('--port', type=int, required=True)
parser.add_argument('--redis', default='redis://127.0.0.1:6379/0')
parser.add_argument('--channel', default='flask-socketio-example')
args = parser.parse_args()

app = Flask(__name__)
socketio = SocketIO(app, async_mode='threading', message_queue=args.redis,
                    channel=args.channel)
serve_client(app)


@app.route('/')
def index():
    return render_template('scale_out.html', server=args.name)


@socketio.on('connect')
def on_connect():
    emit('hello', {'server': args.name})


@socketio.on('join')
def on_join(room):
    join_room(str(room)[:40])
    return {'server': args.name, 'room': room}


@socketio.on('say')
def on_say(data):
    """To everyone in the room, on every server (through Redis)."""
    data = data if isinstance(data, dict) else {}
    emit('said', {'server': args.name, 'sid': request.sid,
                  'text': str(data.get('text', ''))[:500]},
         to=str(data.get('room', 'lobby'))[:40])
    return True


if __name__ == '__main__':
    print(f'{args.name} on http://{args.host}:{args.port}/', flush=True)
    logging.getLogger('werkzeug').setLevel(logging.WARNING)  # no request log
    socketio.run(app, host=args.host, port=args.port,
                 allow_unsafe_werkzeug=True)
