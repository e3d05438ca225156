"""A write-only emitter: an auxiliary process with no Flask app that only
publishes through the message queue, then exits.

Usage: mq_emitter.py REDIS_URL CHANNEL EMITS_JSON

EMITS_JSON is a list of {event, data, to?, binary?}; ``binary`` (a string)
is sent as bytes in the payload under the key ``blob``.  Prints one JSON
line describing the emitter's client manager.
"""
import json
import sys

from flask_socketio import SocketIO

redis_url, channel, emits = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

socketio = SocketIO(message_queue=redis_url, channel=channel)
for item in emits:
    data = item['data']
    if 'binary' in item:
        data = dict(data, blob=item['binary'].encode())
    socketio.emit(item['event'], data, to=item.get('to'))

manager = socketio.server.manager
print(json.dumps({'manager': type(manager).__name__,
                  'write_only': manager.write_only,
                  'channel': manager.channel}))
