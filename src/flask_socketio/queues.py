"""Message queues for several server processes: python-socketio's pub/sub
client managers, chosen by URL scheme."""
from __future__ import annotations

import socketio

from ._engine import with_fan_out


def client_manager_for(url: str, channel: str = 'flask-socketio',
                       write_only: bool = False):
    """The pub/sub manager for ``url``: ``redis://``/``rediss://`` Redis,
    ``kafka://`` Kafka, ``zmq`` ZeroMQ, any other scheme Kombu (AMQP...)."""
    if url.startswith(('redis://', 'rediss://')):
        manager_class = socketio.RedisManager
    elif url.startswith('kafka'):
        manager_class = socketio.KafkaManager
    elif url.startswith('zmq'):
        manager_class = socketio.ZmqManager
    else:
        manager_class = socketio.KombuManager
    return with_fan_out(manager_class)(url, channel=channel,
                                       write_only=write_only)
