"""Class-based namespaces."""
from __future__ import annotations

import socketio


class Namespace(socketio.Namespace):
    """Handlers as methods: ``on_<event>`` handles ``<event>``.

    An ``error(self, exc)`` method, if defined, handles exceptions raised by
    this namespace's handlers that no ``on_error`` handler took.
    """

    def __init__(self, namespace=None):
        super().__init__(namespace)
        self.socketio = None

    def _set_socketio(self, socketio):
        self.socketio = socketio

    def trigger_event(self, event, *args):
        """Route ``event`` to its ``on_<event>`` method; events without one
        are ignored.  Override for custom dispatch."""
        handler = getattr(self, 'on_' + (event or ''), None)
        if handler is None:
            return None
        namespace = self.namespace
        if namespace == '*':
            # a catch-all namespace: python-socketio passes the client's
            # namespace first (Flask-SocketIO 5.7 took it for the sid)
            namespace, *args = args
        return self.socketio._handle_event(
            handler, event, namespace, *args,
            error_handler=getattr(self, 'error', None))

    def emit(self, event, data=None, room=None, include_self=True,
             namespace=None, callback=None):
        """Emit to ``room`` (default: everyone) in this namespace."""
        return self.socketio.emit(event, data, room=room,
                                  include_self=include_self,
                                  namespace=namespace or self.namespace,
                                  callback=callback)

    def send(self, data, room=None, include_self=True, namespace=None,
             callback=None):
        """Send a ``message`` event in this namespace."""
        return self.socketio.send(data, room=room, include_self=include_self,
                                  namespace=namespace or self.namespace,
                                  callback=callback)

    def close_room(self, room, namespace=None):
        """Close ``room`` in this namespace."""
        return self.socketio.close_room(room=room,
                                        namespace=namespace or self.namespace)
