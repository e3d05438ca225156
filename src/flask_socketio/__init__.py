"""Socket.IO for Flask: a faster drop-in for Flask-SocketIO 5.x.

The public API is Flask-SocketIO's; the layout says where things live:

- ``extension``   the ``SocketIO`` object: options, handlers, dispatch
- ``context``     functions used inside handlers (``emit``, ``join_room``...)
- ``namespace``   class-based namespaces
- ``test_client`` the network-free test client
- ``sessions``    user sessions inside handlers
- ``serving``     ``run()``/``stop()`` for threading, eventlet and gevent
- ``queues``      message queues (Redis, Kombu...) for several processes
- ``_engine``     the python-socketio server subclass (protocol plug-ins)
- ``_speedups``   the compiled core and its pure twin (``speedups``:
                  ``speedups.implementation`` is ``'compiled'`` or ``'pure'``)
"""
from socketio.exceptions import ConnectionRefusedError

from . import _speedups as speedups
from .context import (call, close_room, disconnect, emit, join_room,
                      leave_room, rooms, send)
from .extension import SocketIO
from .namespace import Namespace
from .test_client import SocketIOTestClient

#: the Flask-SocketIO release implemented, + this project's release
__version__ = '5.7.0+fast.0.2.0'

__all__ = [
    'SocketIO', 'SocketIOTestClient', 'Namespace', 'ConnectionRefusedError',
    'emit', 'send', 'call', 'join_room', 'leave_room', 'close_room', 'rooms',
    'disconnect', 'speedups',
]
