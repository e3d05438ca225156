"""A Socket.IO client for tests, in the spirit of Flask's test client.

It needs no network: it opens a loopback Engine.IO session on the server
(see ``_engine.LoopbackSocket``), so it is addressed exactly like a network
client (rooms, broadcasts, server-side disconnects), every packet it sends
or receives is really encoded and decoded, and its events are handled
inline, so a test sees the results as soon as ``emit`` returns.
"""
from __future__ import annotations

import threading
import uuid

from flask.testing import EnvironBuilder
from socketio import packet
from socketio.pubsub_manager import PubSubManager

from ._engine import PacketAssembler


class SocketIOTestClient:
    """Connects on creation.  ``flask_test_client``, if given, shares its
    cookies (so the user session set by HTTP routes) with the events.

    As in Flask-SocketIO, ``clients`` maps every test client's Engine.IO
    sid to the client (for the life of the process), and ``acks`` holds the
    last acknowledgement received (``{'args', 'namespace'}``) until
    :meth:`emit` returns it.
    """

    clients: dict = {}

    def __init__(self, app, socketio, namespace=None, query_string=None,
                 headers=None, auth=None, flask_test_client=None):
        if isinstance(socketio.server.manager, PubSubManager):
            raise RuntimeError('Test client cannot be used with a message '
                               'queue. Disable the queue on your test '
                               'configuration.')
        self.app = app
        self.socketio = socketio
        self.flask_test_client = flask_test_client
        self.eio_sid = uuid.uuid4().hex
        self.clients[self.eio_sid] = self
        self.connected = {}
        self.queue = []
        self.acks = None
        self.callback_counter = 0
        self._lock = threading.Lock()
        self._incoming = PacketAssembler(socketio.server.packet_class)
        self.connect(namespace=namespace, query_string=query_string,
                     headers=headers, auth=auth)

    # -- the receiving half ---------------------------------------------------

    def _deliver(self, data):
        with self._lock:
            pkt = self._incoming.push(data)
            if pkt is not None:
                self._receive(pkt)

    def _receive(self, pkt):
        namespace = pkt.namespace or '/'
        if pkt.packet_type in (packet.EVENT, packet.BINARY_EVENT):
            name = pkt.data[0]
            args = pkt.data[1] if name in ('message', 'json') \
                else pkt.data[1:]
            self.queue.append({'name': name, 'args': args,
                               'namespace': namespace})
        elif pkt.packet_type in (packet.ACK, packet.BINARY_ACK):
            self.acks = {'args': pkt.data, 'namespace': namespace}
        elif pkt.packet_type in (packet.DISCONNECT, packet.CONNECT_ERROR):
            self.connected[namespace] = False

    # -- the sending half -----------------------------------------------------

    def _send(self, pkt):
        """Encode ``pkt`` as a network client would, decode it as the server
        would, and have the server handle it."""
        encoded = pkt.encode()
        decoder = PacketAssembler(self.socketio.server.packet_class)
        for data in encoded if isinstance(encoded, list) else [encoded]:
            whole = decoder.push(data)
        self.socketio.server.feed_loopback(self.eio_sid, whole)

    def is_connected(self, namespace=None):
        """Whether ``namespace`` (default ``'/'``) is connected."""
        return self.connected.get(namespace or '/', False)

    def connect(self, namespace=None, query_string=None, headers=None,
                auth=None):
        """Connect to ``namespace`` (done for the first one on creation)."""
        namespace = namespace or '/'
        path = '/socket.io'
        if query_string:
            path += query_string if query_string.startswith('?') \
                else '?' + query_string
        # the Flask test client's base environ (REMOTE_ADDR, User-Agent and
        # whatever the test put in environ_base) applies, as in its requests
        environ_base = (dict(self.flask_test_client.environ_base)
                        if self.flask_test_client is not None else None)
        environ = EnvironBuilder(self.app, path=path, headers=headers,
                                 environ_base=environ_base).get_environ()
        environ['flask.app'] = self.app
        if self.flask_test_client is not None:
            # Werkzeug's test client keeps its cookie jar private; this is
            # the method it uses itself to add the cookies to a request
            self.flask_test_client._add_cookies_to_wsgi(environ)
        self.socketio.server.open_loopback(self.eio_sid, environ,
                                           self._deliver)
        server = self.socketio.server
        self._send(server.packet_class(packet.CONNECT, auth,
                                       namespace=namespace))
        # as Flask-SocketIO's: connected if the server holds a session for
        # the namespace (so connecting again to one keeps it connected)
        if server.manager.sid_from_eio_sid(self.eio_sid, namespace):
            self.connected[namespace] = True

    def disconnect(self, namespace=None):
        """Disconnect from ``namespace`` (default ``'/'``)."""
        if not self.is_connected(namespace):
            raise RuntimeError('not connected')
        namespace = namespace or '/'
        self._send(self.socketio.server.packet_class(
            packet.DISCONNECT, namespace=namespace))
        del self.connected[namespace]

    def emit(self, event, *args, callback=False, namespace=None, **kwargs):
        """Emit ``event``; with ``callback=True`` return the acknowledgement
        arguments (one value, or a list of several).  Other keyword
        arguments (``broadcast``...) mean nothing to a client and are
        ignored, as Flask-SocketIO's test client ignores them."""
        if not self.is_connected(namespace):
            raise RuntimeError('not connected')
        namespace = namespace or '/'
        ack_id = None
        if callback:
            self.callback_counter += 1
            ack_id = self.callback_counter
        self._send(self.socketio.server.packet_class(
            packet.EVENT, data=[event, *args], namespace=namespace,
            id=ack_id))
        if self.acks is not None:
            args, self.acks = self.acks['args'], None
            return args[0] if len(args) == 1 else args
        return None

    def send(self, data, json=False, callback=False, namespace=None):
        """Send a ``message`` (or, with ``json=True``, a ``json``) event."""
        return self.emit('json' if json else 'message', data,
                         callback=callback, namespace=namespace)

    def get_received(self, namespace=None):
        """The events received in ``namespace`` since the last call, as
        ``{'name', 'args', 'namespace'}`` dicts."""
        if not self.is_connected(namespace):
            raise RuntimeError('not connected')
        namespace = namespace or '/'
        with self._lock:
            mine = [p for p in self.queue if p['namespace'] == namespace]
            self.queue = [p for p in self.queue
                          if p['namespace'] != namespace]
        return mine
