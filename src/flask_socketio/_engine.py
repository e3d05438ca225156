"""The Socket.IO server this extension runs: python-socketio, plugged in.

Every use of a private detail of python-socketio / python-engineio lives in
this module, so that a release that moves one breaks here and nowhere else
(the versions are pinned in pyproject.toml; ``tests/test_engine_pins.py``
fails loudly when an upgrade changes what is relied on).

What the subclass adds to ``socketio.Server``:

- *Hostile input costs only its sender.*  A packet that cannot be decoded
  (or breaks the protocol) disconnects the client that sent it and is
  logged; an exception raised by an application handler is logged and the
  client stays connected.  The server and every other client carry on.
- *Loopback sessions* for :class:`~flask_socketio.SocketIOTestClient`: an
  in-process Engine.IO socket that receives packets as a network client
  would (encoded, then decoded), whose handlers run inline so tests are
  deterministic, while real clients on the same server keep their threads.
- *The packet class* of the compiled core (``flask_socketio._speedups``)
  by default; when a ``json`` module is given, python-socketio's class,
  subclassed per server instead of python-socketio's process-wide class
  attribute, so two servers in one process never share a JSON module.
- *Delivery on the compiled core*: the ``FanOut`` client manager (also
  slotted under the pub/sub managers by ``with_fan_out``) encodes and
  frames an emit once and queues it on each recipient's Engine.IO socket
  through ``_speedups.fan_out``; other sends are framed by the core's
  ``EioPacket`` too.
- *Sessions on this package's transport*: ``_Session`` (python-engineio's
  socket, made by ``_EngineIOServer._handle_connect``) hands its WebSocket
  to :mod:`flask_socketio.transport` where the server has it on, and
  ``_Pinger`` pings every session from one task.
- *An EVENT's short way*: a text EVENT from a native WebSocket goes from
  its message to the handler and its acknowledgement's frame in two calls
  (``Server._event_text``, ``_run_event``) doing what python-socketio's
  four layers do with it, for the releases whose steps it was checked
  against (``STEPS_KNOWN``) and while none of them is replaced on the
  server; anything else takes python-socketio's path.
- *The Admin UI* (``instrument()``) hears of the packets of polling POSTs
  and native WebSockets, and of each native ping, from this module: its
  counters patch python-engineio methods these paths do not run.
- *Repairs* of the engine, each described where it is made: binary
  broadcasts to clients on mixed transports (``_send_eio_packet``), an
  Engine.IO ``disconnect`` that cannot hang the request that called it
  (``_EngineIOServer``), long-polling responses python-engineio's own
  client can read (``_Session.poll``), a connect answered only once the
  manager counts the client (``Server._send_packet``, ``FanOut.connect``),
  and ``join()`` of eventlet tasks (``_EventletTask``).
"""
from __future__ import annotations

import collections
import contextvars
import datetime
import functools
import logging
import threading
import time
import urllib.parse

import engineio
import engineio.socket
import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from . import _speedups, transport
from .sessions import _digest
from .transport import graceful, handshake
from .transport.connection import Connection, take_turn
from .transport.loop import Loop, hand_over

logger = logging.getLogger('flask_socketio')


#: what a handler raises to refuse a connection: python-socketio's class and
#: the builtin, both accepted as Flask-SocketIO does
REFUSALS = (socketio.exceptions.ConnectionRefusedError, ConnectionRefusedError)


class HandlerTypeError(Exception):
    """A TypeError raised by a connect or disconnect handler (or its error
    handler), carried past python-socketio, which would take a plain
    TypeError for a legacy handler signature and call the handler a second
    time."""


class LoopbackSocket:
    """An Engine.IO socket whose peer is a Python object in this process.

    It stands in ``eio.sockets`` like a network socket, so python-socketio
    addresses it exactly as any other client (rooms, broadcasts, sessions).
    ``deliver`` receives each outgoing Engine.IO packet's payload.
    """

    upgraded = True  # reported as the 'websocket' transport
    upgrading = False

    def __init__(self, server: 'Server', sid: str, deliver):
        self.server = server
        self.sid = sid
        self.deliver = deliver
        self.session = {}
        self.closed = False
        self.closing = False
        self.connected = True

    def send(self, pkt):
        if not self.closed and pkt.packet_type == eio_packet.MESSAGE:
            self.deliver(pkt.data)

    def check_ping_timeout(self):
        return True

    def close(self, wait=True, abort=False, reason=None):
        if self.closed or self.closing:
            return
        self.closing = True
        self.server.drop_loopback(self.sid, reason)
        self.closed = True


class Server(socketio.Server):
    """``socketio.Server`` with the behaviour described in the module doc."""

    _start_handler = None  # how the transport starts an event's handler

    def __init__(self, *, json=None, serializer='default', **kwargs):
        if kwargs.get('client_manager') is None:
            kwargs['client_manager'] = FanOut()
        if json is not None and serializer in ('default', sio_packet.Packet,
                                               _speedups.Packet):
            # a subclass carries the JSON module; python-socketio would set it
            # on its shared Packet class for the whole process otherwise
            serializer = type('Packet', (sio_packet.Packet,), {'json': json})
            kwargs['json'] = json
            # Engine.IO keeps JSON on its own packet class, globally; restore
            # it, the server only uses JSON there for its handshake
            saved = eio_packet.Packet.json
            try:
                super().__init__(serializer=serializer, **kwargs)
            finally:
                eio_packet.Packet.json = saved
        else:
            if json is None and serializer == 'default':
                # the compiled core (or its pure twin): same packets, faster
                serializer = _speedups.Packet
            super().__init__(json=json, serializer=serializer, **kwargs)
        logger.debug('flask_socketio: %s codec, packet class %s.%s',
                     _speedups.implementation, self.packet_class.__module__,
                     self.packet_class.__qualname__)
        self._loopback = set()
        self._attachment_bytes = {}
        if isinstance(self.eio, _EngineIOServer) and self.eio.native:
            self._start_handler = _handler_starter(self.eio.async_mode)
            if self.packet_class is _speedups.Packet and _SHORT_WAY:
                self.eio.events = self  # its EVENT texts: _event_text
        if isinstance(self.eio, _EngineIOServer):
            self.eio.app_logger = self.logger

    def instrument(self, *args, **kwargs):
        admin = super().instrument(*args, **kwargs)
        if isinstance(self.eio, _EngineIOServer):
            self.eio.admin = admin
        return admin

    # -- loopback sessions (the test client) --------------------------------

    def open_loopback(self, eio_sid: str, environ: dict, deliver) -> None:
        """Open an in-process Engine.IO session (or give an open one a new
        environ, as a reconnecting test client does)."""
        if eio_sid not in self._loopback:
            self.eio.sockets[eio_sid] = LoopbackSocket(self, eio_sid, deliver)
            self._loopback.add(eio_sid)
        self._handle_eio_connect(eio_sid, environ)

    def feed_loopback(self, eio_sid: str, pkt) -> None:
        """Handle one whole Socket.IO packet from a loopback peer, inline,
        as python-socketio handles a network client's, except that what a
        handler raises reaches the caller (the test), as in Flask-SocketIO.
        Network traffic never comes here, so it pays for none of this."""
        namespace = pkt.namespace or '/'
        try:
            if pkt.packet_type == sio_packet.CONNECT:
                self._handle_connect(eio_sid, namespace, pkt.data)
            elif pkt.packet_type == sio_packet.DISCONNECT:
                self._handle_disconnect(eio_sid, namespace,
                                        self.reason.CLIENT_DISCONNECT)
            elif pkt.packet_type in (sio_packet.EVENT,
                                     sio_packet.BINARY_EVENT):
                sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
                self.logger.info('received event "%s" from %s [%s]',
                                 pkt.data[0], sid, namespace)
                if not self.manager.is_connected(sid, namespace):
                    self.logger.warning('%s is not connected to namespace '
                                        '%s', sid, namespace)
                    return
                # python-socketio's, not this class's, which logs errors
                socketio.Server._handle_event_internal(
                    self, self, sid, eio_sid, pkt.data, namespace, pkt.id)
            elif pkt.packet_type in (sio_packet.ACK, sio_packet.BINARY_ACK):
                socketio.Server._handle_ack(self, eio_sid, namespace, pkt.id,
                                            pkt.data)
            else:
                raise ValueError(f'unexpected packet type {pkt.packet_type}')
        except HandlerTypeError as exc:
            # the handler's own TypeError, now that python-socketio (which
            # would have retried a connect handler on it) is left behind
            raise exc.__cause__

    def drop_loopback(self, eio_sid: str, reason=None) -> None:
        if eio_sid not in self._loopback:
            return
        self._handle_eio_disconnect(
            eio_sid, reason or self.reason.SERVER_DISCONNECT)
        self._loopback.discard(eio_sid)
        self.eio.sockets.pop(eio_sid, None)

    def start_background_task(self, target, *args, **kwargs):
        if self._start_handler is not None and \
                getattr(target, '__func__', None) is _HANDLE_EVENT_INTERNAL:
            # an event's handler (python-socketio's _handle_event, with
            # async_handlers, which keeps no handle of it): where the
            # transport hands it over, when nothing waits behind it, or
            # in a job of its own; in a context of its own either way
            conn = getattr(self.eio.sockets.get(args[2]), '_ws', None)
            if conn is not None:  # counted against max_client_handlers
                conn.job_started()
                target = functools.partial(_then, conn.job_ended, target)
            if take_turn(conn):
                contextvars.Context().run(target, *args, **kwargs)
            else:
                self._start_handler(target, *args, **kwargs)
            return None
        task = super().start_background_task(target, *args, **kwargs)
        if self.eio.async_mode == 'eventlet':
            return _EventletTask(task)
        return task

    def sleep(self, seconds=0):
        if seconds:
            hand_over()  # a handler on the loop's thread passes it on first
        return super().sleep(seconds)

    def call(self, event, data=None, to=None, sid=None, namespace=None,
             timeout=60, **kwargs):
        hand_over()  # (the acknowledgement is read by the loop)
        target = to if to is not None else sid
        if target is not None and self._loopback:
            eio_sid = self.manager.eio_sid_from_sid(target, namespace or '/')
            if eio_sid in self._loopback:
                # the test client has no callbacks to run: fail now, as
                # Flask-SocketIO does, rather than after the full timeout
                raise RuntimeError('Cannot use call() with the test client.')
        # as sid=: python-socketio reads ``to or sid`` (see SocketIO.emit)
        return super().call(event, data=data, sid=target,
                            namespace=namespace, timeout=timeout, **kwargs)

    def _send_packet(self, eio_sid, pkt):
        if pkt.packet_type == sio_packet.CONNECT and \
                isinstance(self.manager, FanOut):
            # python-socketio answers a connect before its manager counts
            # the client connected; a client quick to act on the answer (a
            # disconnect of its sid from an HTTP route, say) would find it
            # unknown.  The manager sends it once it counts it.
            self.manager.hold_reply(eio_sid, pkt)
            return
        sock = self.eio.sockets.get(eio_sid)
        if sock is None or sock.closed:
            sock = None  # python-engineio's send_packet says why
        for frame in _frames(pkt):
            if sock is None:
                self.eio.send_packet(eio_sid, frame)
            else:
                sock.send(frame)

    def _send_eio_packet(self, eio_sid, eio_pkt):
        # Reached only from a client manager given as client_manager=
        # (FanOut does not come here).  python-socketio encodes a broadcast
        # once and hands the same Engine.IO packet objects to every
        # recipient, while python-engineio caches a packet's first encoding
        # whatever the transport: raw bytes for WebSocket, base64 text for
        # polling.  A binary attachment encoded first for a WebSocket client
        # then breaks the payload of a polling client (TypeError, HTTP 500,
        # events lost).  Such packets get a fresh copy per recipient; the
        # compiled core's EioPacket never caches binary encodings, and text
        # encodes the same on both transports.
        if eio_pkt.binary and not isinstance(eio_pkt, _speedups.EioPacket):
            eio_pkt = type(eio_pkt)(eio_pkt.packet_type, eio_pkt.data)
        super()._send_eio_packet(eio_sid, eio_pkt)

    # -- dispatch: errors cost only their sender ----------------------------

    def _handle_eio_message(self, eio_sid, data):
        try:
            if eio_sid in self._binary_packet:
                # attachments of one packet count against one message's limit
                total = self._attachment_bytes.get(eio_sid, 0) + len(data)
                if total > self.eio.max_http_buffer_size:
                    raise ValueError('binary attachments exceed '
                                     'max_http_buffer_size')
                self._attachment_bytes[eio_sid] = total
            super()._handle_eio_message(eio_sid, data)
        except Exception as exc:
            self._packet_failed(eio_sid, exc)
        else:
            if eio_sid not in self._binary_packet:
                self._attachment_bytes.pop(eio_sid, None)

    # -- an EVENT's short way, on a native WebSocket -------------------------

    def _event_text(self, session, text):
        """What ``_handle_eio_message`` does with a text EVENT packet
        (``2...``) from ``session``'s WebSocket, in one call: decoded
        without a packet object, the handler started as
        :meth:`start_background_task` starts it, anything out of the
        ordinary (attachments awaited, data that is not an event's list,
        a step it leaves out replaced on this server, as the Admin UI
        replaces ``_trigger_event``) left to the regular path."""
        eio_sid = session.sid
        if eio_sid in self._binary_packet or \
                not self.__dict__.keys().isdisjoint(_SHORTENED):
            return self._handle_eio_message(eio_sid, text)
        try:
            _, namespace, id, data, _ = _decode_packet(text)
            if type(data) is not list or not data:
                return self._handle_eio_message(eio_sid, text)
            namespace = namespace or '/'
            sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
            if self.logger.isEnabledFor(logging.INFO):
                self.logger.info('received event "%s" from %s [%s]',
                                 data[0], sid, namespace)
            if not self.manager.is_connected(sid, namespace):
                self.logger.warning('%s is not connected to namespace %s',
                                    sid, namespace)
            elif not self.async_handlers:
                self._run_event(session, sid, data, namespace, id)
            else:
                conn = session._ws
                conn.job_started()  # counted against max_client_handlers
                if take_turn(conn):
                    contextvars.Context().run(
                        _then, conn.job_ended, self._run_event, session, sid,
                        data, namespace, id)
                else:
                    self._start_handler(
                        _then, conn.job_ended, self._run_event, session, sid,
                        data, namespace, id)
        except Exception as exc:
            self._packet_failed(eio_sid, exc)
        return None

    def _run_event(self, session, sid, data, namespace, id):
        """``_handle_event_internal`` for :meth:`_event_text`: the handler
        found as ``_get_event_handler`` finds it first (else through
        ``_trigger_event``), its acknowledgement framed straight from the
        codec's text."""
        event = data[0]
        try:
            handlers = self.handlers.get(namespace)
            handler = None if handlers is None or event in _RESERVED \
                else handlers.get(event)
            if handler is not None:
                # Flask-SocketIO's dispatcher, given the environ its
                # get_environ(sid) would look up
                direct = getattr(handler, '_in_environ', None)
                environ = None if direct is None else \
                    self.environ.get(session.sid)
                if environ:
                    r = direct(environ, sid, *data[1:])
                else:
                    r = handler(sid, *data[1:])
            else:
                r = self._trigger_event(event, namespace, sid, *data[1:])
        except Exception:
            self.logger.exception('%s: handler for event "%s" [%s] failed',
                                  sid, event, namespace)
            return
        if r != self.not_handled and id is not None:
            if r is None:
                data = []
            elif isinstance(r, tuple):
                data = list(r)
            else:
                data = [r]
            encoded = _encode_packet(sio_packet.ACK, namespace, id, data)
            if type(encoded) is str and session.send_text(encoded):
                return
            self._send_packet(session.sid, self.packet_class(
                sio_packet.ACK, namespace=namespace, id=id, data=data))

    def _emit_to_sender(self, event, data, namespace, sid) -> bool:
        """``emit(event, data, room=sid, namespace=namespace)`` of a handler
        to its own client, in one call where the emit would take
        ``FanOut``'s one-client way anyway (this server's steps and
        FanOut's delivery not replaced, a native WebSocket): True when done;
        False, nothing done, where the regular way must go (a pub/sub
        manager, the Admin UI's counting ``emit``, a polling client)."""
        manager = self.manager
        if not _SHORT_EMIT or 'emit' in self.__dict__ or \
                type(self).emit is not _SERVER_EMIT or \
                'emit' in manager.__dict__ or \
                type(manager).emit is not FanOut.emit or \
                self.eio.events is None:
            return False
        members = manager.rooms.get(namespace)
        members = None if members is None else members.get(sid)
        if members is None or len(members) != 1:
            return False
        sock = self.eio.sockets.get(next(iter(members.values())))
        if type(sock) is not _Session:
            return False
        # python-socketio's Server.emit from here on
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info('emitting event "%s" to %s [%s]', event, sid,
                             namespace)
        encoded = _encode_packet(sio_packet.EVENT, namespace, None,
                                 _event_data(event, data))
        if type(encoded) is not str or not sock.send_text(encoded):
            manager.emit(event, data, namespace, room=sid, skip_sid=None,
                         callback=None, ignore_queue=False)
        return True

    def _packet_failed(self, eio_sid, exc):
        """A packet from ``eio_sid`` could not be handled (called in the
        ``except`` clause): its sender is disconnected, with one log line.
        Application errors are handled before they get here
        (_handle_event_internal, _run_event, _handle_ack, _trigger_event).
        """
        if isinstance(exc, ValueError):
            # the codec's word for a packet that breaks the protocol
            self.logger.warning('%s: invalid packet (%s), disconnecting',
                                eio_sid, exc)
        else:
            self.logger.exception('%s: packet could not be handled, '
                                  'disconnecting', eio_sid)
        self._drop(eio_sid)

    def _handle_eio_disconnect(self, eio_sid, reason):
        self._attachment_bytes.pop(eio_sid, None)
        super()._handle_eio_disconnect(eio_sid, reason)

    def _handle_event_internal(self, server, sid, eio_sid, data, namespace,
                               id):
        try:
            super()._handle_event_internal(server, sid, eio_sid, data,
                                           namespace, id)
        except Exception:
            self.logger.exception('%s: handler for event "%s" [%s] failed',
                                  sid, data[0] if data else None, namespace)

    def _handle_ack(self, eio_sid, namespace, id, data):
        try:
            super()._handle_ack(eio_sid, namespace, id, data)
        except Exception:
            self.logger.exception('%s: acknowledgement callback failed',
                                  eio_sid)

    def _trigger_event(self, event, namespace, *args):
        if event != 'connect' and event != 'disconnect':
            return super()._trigger_event(event, namespace, *args)
        try:
            return super()._trigger_event(event, namespace, *args)
        except REFUSALS:
            raise  # a refusal is the protocol's answer, not an error
        except Exception as exc:
            if event == 'connect' and isinstance(exc, TypeError):
                # a handler registered on python-socketio directly with the
                # legacy (sid, environ) signature: python-socketio retries
                raise
            sid = args[0]
            eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
            if eio_sid in self._loopback:
                if isinstance(exc, HandlerTypeError) and event == 'disconnect':
                    raise exc.__cause__  # (a connect's: see feed_loopback)
                raise
            self.logger.exception('%s: %s handler [%s] failed', sid, event,
                                  namespace)
            if event == 'connect':
                raise socketio.exceptions.ConnectionRefusedError(
                    'Internal server error')
            return None  # python-socketio then finishes the disconnect

    def _engineio_server_class(self):
        return _EngineIOServer

    def _drop(self, eio_sid):
        """Close an Engine.IO session without waiting for its queue to drain
        (the caller may be the very thread that would drain it)."""
        self._binary_packet.pop(eio_sid, None)
        self._attachment_bytes.pop(eio_sid, None)
        sock = self.eio.sockets.get(eio_sid)
        if sock is not None:
            sock.close(wait=False, reason=self.reason.TRANSPORT_ERROR)


def _frames(pkt) -> list:
    """A Socket.IO packet encoded, and framed as the compiled core's
    Engine.IO messages (one, plus one per binary attachment)."""
    encoded = pkt.encode()
    if isinstance(encoded, list):
        return [_speedups.EioPacket(eio_packet.MESSAGE, part)
                for part in encoded]
    return [_speedups.EioPacket(eio_packet.MESSAGE, encoded)]


def _event_data(event, data) -> list:
    """An EVENT packet's data: the name, then python-socketio's ``data``
    (a tuple: several arguments)."""
    if isinstance(data, tuple):
        return [event, *data]
    if data is not None:
        return [event, data]
    return [event]


def _then(after, target, *args, **kwargs):
    """``target(*args, **kwargs)``, then ``after()`` however it ends."""
    try:
        return target(*args, **kwargs)
    finally:
        after()


#: what python-socketio starts a task for, per event (see
#: Server.start_background_task)
_HANDLE_EVENT_INTERNAL = Server._handle_event_internal
#: what Server._event_text does in their place
_SHORTENED = frozenset({
    '_handle_eio_message', '_handle_event', '_handle_event_internal',
    'start_background_task', '_trigger_event', '_get_event_handler',
    '_send_packet'})
#: the python-socketio steps whose EVENT branch _event_text follows, as
#: source digests (5.15.0 to 5.18.1); under any other release it is off
STEPS_KNOWN = frozenset({
    '2abcc47a51baf0c1', '1fb1de834aa64f04',  # _handle_eio_message
    'ee318fa2009bb95e',  # _handle_event
    'b56e40c083c0b0ae',  # _handle_event_internal
    '2eba9cad77cb8137',  # _trigger_event
    '3b16558fe93a5731',  # _get_event_handler
})
_STEPS = ('_handle_eio_message', '_handle_event', '_handle_event_internal',
          '_trigger_event', '_get_event_handler')
_SHORT_WAY = all(_digest(getattr(socketio.Server, name)) in STEPS_KNOWN
                 for name in _STEPS)
#: python-socketio's Server.emit, whose steps _emit_to_sender follows
#: (5.15.0 to 5.18.1)
_SERVER_EMIT = socketio.Server.emit
EMIT_KNOWN = frozenset({'ae31e8119a4b150f'})
_SHORT_EMIT = _digest(_SERVER_EMIT) in EMIT_KNOWN
#: events python-socketio's _get_event_handler never gives a catch-all
_RESERVED = frozenset(socketio.base_server.BaseServer.reserved_events)
_decode_packet = _speedups.codec.decode_packet
_encode_packet = _speedups.codec.encode_packet
_encode_text = _speedups.websocket.encode_text


def _handler_starter(async_mode):
    """How this package's transport starts an event's handler in
    ``async_mode``: in threading mode on an idle worker of the transport's
    pool rather than a thread started for it, in a contextvars context of
    its own as on a new thread; in the green modes in a bare greenlet
    (which has a context of its own), without the thread-like object
    python-engineio wraps around each."""
    if async_mode == 'threading':
        def start(target, *args, **kwargs):
            Loop.shared().workers.run_now(functools.partial(
                contextvars.Context().run, target, *args, **kwargs))
        return start
    if async_mode == 'gevent':
        import gevent
        return gevent.spawn_raw
    if async_mode == 'eventlet':
        import eventlet
        return eventlet.spawn_n
    return None


class FanOut(socketio.Manager):
    """The client manager's delivery of an emit, on the compiled core: the
    packet is encoded and framed once, then queued straight on each
    recipient's Engine.IO socket (``_speedups.fan_out``).

    Pub/sub managers deliver locally through ``super().emit``, so
    :func:`with_fan_out` slots this class under theirs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._replies = {}  # (eio_sid, namespace): a connect's answer

    def hold_reply(self, eio_sid, pkt) -> None:
        """Keep the answer to a client's connect until :meth:`connect`."""
        self._replies[(eio_sid, pkt.namespace or '/')] = pkt

    def connect(self, sid, namespace):
        sid = super().connect(sid, namespace)
        eio_sid = self.eio_sid_from_sid(sid, namespace)
        pkt = self._replies.pop((eio_sid, namespace), None)
        if pkt is not None:
            for frame in _frames(pkt):
                self.server.eio.send_packet(eio_sid, frame)
        return sid

    def emit(self, event, data, namespace, room=None, skip_sid=None,
             callback=None, to=None, **kwargs):
        if callback:
            # each recipient gets its own ack id: there is nothing to share
            return super().emit(event, data, namespace, room=room,
                                skip_sid=skip_sid, callback=callback, to=to,
                                **kwargs)
        if namespace not in self.rooms:
            return
        data = _event_data(event, data)
        target = to if to is not None else room
        sockets = self.server.eio.sockets
        if type(target) is str and skip_sid is None and \
                getattr(self.server.eio, 'events', None) is not None:
            # one client (a sid's own room), where the short ways are on
            # (the core's packets): its text framed at once
            members = self.rooms[namespace].get(target)
            if members is not None and len(members) == 1:
                sock = sockets.get(next(iter(members.values())))
                if type(sock) is _Session:
                    encoded = _encode_packet(sio_packet.EVENT, namespace,
                                             None, data)
                    if type(encoded) is str and sock.send_text(encoded):
                        return
        packets = _frames(self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=data))
        missing = _speedups.fan_out(
            sockets, self.get_participants(namespace, target),
            skip_sid if isinstance(skip_sid, list) else [skip_sid], packets)
        for eio_sid in missing or ():
            # as engineio's send_packet: forget a closed socket, say so
            sock = sockets.get(eio_sid)
            if sock is not None and sock.closed:
                sockets.pop(eio_sid, None)  # engineio's service task races
            self.server.eio.logger.warning('Cannot send to sid %s', eio_sid)


@functools.cache
def with_fan_out(manager_class: type) -> type:
    """``manager_class`` (a ``socketio.Manager`` subclass) with
    :class:`FanOut` under it, under the same name: its method resolution
    order then runs FanOut's ``emit`` wherever the class hands delivery to
    ``socketio.Manager``."""
    if issubclass(manager_class, FanOut):
        return manager_class
    return type(manager_class.__name__, (manager_class, FanOut),
                {'__module__': __name__})


class _EventletTask:
    """python-engineio's eventlet task, with a ``join()`` that waits.

    Its own ``join()`` tests ``if self.g:`` first, and a green thread that
    has not started running yet is false, so joining a task just started
    returned at once without waiting.
    """

    def __init__(self, task):
        self._task = task

    def join(self):
        green_thread = self._task.g
        if green_thread is not None:
            return green_thread.wait()

    def __getattr__(self, name):
        return getattr(self._task, name)


class _EngineIOServer(engineio.Server):
    """python-engineio's server with two repairs, and sessions
    (:class:`_Session`) that serve WebSockets on this package's transport
    where it is on (see :mod:`flask_socketio.transport`).

    - ``disconnect(sid)`` does not wait for the client to fetch its queued
      packets: python-engineio calls it from the request that caught a
      protocol error, and with no GET pending that wait never ended, so each
      such request held a server thread forever and got no response.
    - Polling POSTs are read here (:meth:`_handle_post`): python-engineio
      refuses a payload of more than 16 packets with a 400, which the
      official JavaScript client, batching what it queued during the
      previous POST, takes for delivered (its events are lost silently).
      Any number of packets within ``max_http_buffer_size`` is taken; a
      body over it, announced or chunked, gets 413 without being read
      further, and ends the session.
    """

    def __init__(self, *args, max_backlog_size=transport.DEFAULT_MAX_BACKLOG,
                 max_client_handlers=transport.DEFAULT_MAX_CLIENT_HANDLERS,
                 **kwargs):
        if not isinstance(max_client_handlers, int) or \
                isinstance(max_client_handlers, bool) or \
                max_client_handlers < 1:
            raise ValueError('max_client_handlers must be a positive '
                             f'integer, not {max_client_handlers!r}')
        super().__init__(*args, **kwargs)
        self.max_backlog_size = max_backlog_size
        self.max_client_handlers = max_client_handlers
        self.native = transport.native_wanted(self.async_mode)
        if self.native:
            graceful.hold_gunicorn_worker()
        #: where the transport says who was disconnected and why: the
        #: Socket.IO server's logger, set by it (see Server)
        self.app_logger = logger
        #: the Socket.IO server whose _event_text takes EVENT texts from
        #: native WebSockets (set by it, where its codec is the core's);
        #: FanOut's short way to one client is on with it
        self.events = None
        self.pinger = _Pinger(self) if self.native else None
        #: python-socketio's InstrumentedServer once the Admin UI is on
        self.admin = None

    def count(self, direction: str, size: int) -> None:
        """Report one packet in (``'In'``) or out, of ``size`` bytes, to the
        Admin UI's statistics, as its patches of python-engineio would."""
        events = self.admin.event_buffer
        events.push('packets' + direction)
        events.push('bytes' + direction, size)

    def _handle_connect(self, environ, start_response, transport,
                        jsonp_index=None):
        # python-engineio's, with this module's session class
        if self.start_service_task:
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(
                self._service_task)
        sid = self.generate_id()
        session = _Session(self, sid)
        self.sockets[sid] = session
        session.send(eio_packet.Packet(eio_packet.OPEN, {
            'sid': sid,
            'upgrades': self._upgrades(sid, transport),
            'pingTimeout': int(self.ping_timeout * 1000),
            'pingInterval': int(
                self.ping_interval + self.ping_interval_grace_period) * 1000,
            'maxPayload': self.max_http_buffer_size,
        }))
        ret = self._trigger_event('connect', sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning('Application rejected connection')
            return self._unauthorized(ret or None)
        session.schedule_ping()
        if transport == 'websocket':
            ret = session.handle_get_request(environ, start_response)
            if session.closed and sid in self.sockets:
                del self.sockets[sid]  # the websocket has ended already
            return ret
        session.connected = True
        headers = None
        if self.cookie:
            cookie = self.cookie if isinstance(self.cookie, dict) else {
                'name': self.cookie, 'path': '/', 'SameSite': 'Lax'}
            headers = [('Set-Cookie',
                        self._generate_sid_cookie(sid, cookie))]
        try:
            return self._ok(session.poll(), headers=headers,
                            jsonp_index=jsonp_index)
        except engineio.exceptions.QueueEmpty:
            return self._bad_request()

    def disconnect(self, sid=None):
        if sid is None:
            return super().disconnect()
        sock = self.sockets.get(sid)
        if sock is not None:
            sock.close(wait=False, reason=self.reason.SERVER_DISCONNECT)
            self.sockets.pop(sid, None)

    def handle_request(self, environ, start_response):
        if environ.get('REQUEST_METHOD') == 'POST':
            query = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
            sock = self.sockets.get(query.get('sid', [None])[0])
            if sock is not None and sock.connected and not sock.closed \
                    and not sock.upgraded \
                    and 'j' not in query \
                    and query.get('transport', ['polling']) == ['polling'] \
                    and not self._origin_refused(environ):
                return self._handle_post(sock, environ, start_response)
        # everything else, and what python-engineio refuses, as it does
        return super().handle_request(environ, start_response)

    def _origin_refused(self, environ):
        origin = environ.get('HTTP_ORIGIN')
        if not origin or self.cors_allowed_origins == []:
            return False
        allowed = self._cors_allowed_origins(environ)
        return allowed is not None and origin not in allowed

    def _handle_post(self, sock, environ, start_response):
        try:
            body = _read_body(environ, self.max_http_buffer_size)
            if body is not None:
                text = body.decode('utf-8')
                packets = [_speedups.EioPacket(encoded_packet=part) for part
                           in _speedups.codec.decode_payload(text,
                                                             len(text) + 1)]
        except ValueError as exc:  # UnicodeDecodeError included
            self.logger.warning('%s: invalid polling POST (%s), '
                                'disconnecting', sock.sid, exc)
            self.disconnect(sock.sid)
            r = self._bad_request()
        else:
            if body is None:
                self.logger.warning('%s: polling POST over '
                                    'max_http_buffer_size (%d bytes), '
                                    'disconnecting', sock.sid,
                                    self.max_http_buffer_size)
                self.disconnect(sock.sid)
                start_response('413 Payload Too Large',
                               [('Content-Type', 'text/plain')] +
                               self._cors_headers(environ))
                return [b'Payload Too Large']
            r = self._ok()
            if self.admin is not None:
                self.count('In', len(body))
            try:
                for pkt in packets:
                    sock.receive(pkt)
            except engineio.exceptions.EngineIOError:
                self.disconnect(sock.sid)
                r = self._bad_request()
        start_response(r['status'], r['headers'] + self._cors_headers(environ))
        return [r['response']]


#: packets in one long-polling response at most (python-engineio's client
#: decodes no more)
POLL_PACKETS = 16


class _Session(engineio.socket.Socket):
    """python-engineio's session, whose WebSocket, when the server serves
    them natively, is a :class:`~flask_socketio.transport.connection.
    Connection`: sends write to it directly (a broadcast's frame built once,
    cached on the shared packet), and what it receives arrives in
    :meth:`ws_event`.  Polling stays python-engineio's (its responses
    capped, :meth:`poll`), up to the upgrade, when what the polling queue
    still holds moves to the WebSocket first.
    """

    def __init__(self, server, sid):
        super().__init__(server, sid)
        self._ws = None       # the WebSocket once it is the transport
        self._probing = None  # a WebSocket being upgraded to
        self._probed = False  # its probe has ended the pending poll
        self._switch = threading.Lock()

    def send(self, pkt):
        # python-engineio's send, but a packet cannot land in the polling
        # queue once the upgrade has emptied it; the ping check (which may
        # run the app's disconnect handler) is made outside the lock
        if not self.check_ping_timeout():
            return
        conn = self._ws
        if conn is None:
            with self._switch:
                conn = self._ws
                if conn is None:
                    self.queue.put(pkt)
        if conn is not None:
            frame = _ws_frame(pkt)
            conn.write(frame)
            if self.server.admin is not None:
                self.server.count('Out', len(frame))
        if self.server.logger.isEnabledFor(logging.INFO):
            self.server.logger.info(
                '%s: Sending packet %s data %s', self.sid,
                eio_packet.packet_names[pkt.packet_type],
                pkt.data if not isinstance(pkt.data, bytes) else '<binary>')

    def send_text(self, encoded) -> bool:
        """:meth:`send` of a MESSAGE packet holding Socket.IO text
        ``encoded``, on the WebSocket; False (nothing done) where the
        session is not on it or is closed."""
        conn = self._ws
        if conn is None or self.closed or \
                self.server.sockets.get(self.sid) is not self:
            return False
        if not self.check_ping_timeout():
            return True
        frame = _encode_text('4' + encoded)
        conn.write(frame)
        if self.server.admin is not None:
            self.server.count('Out', len(frame))
        if self.server.logger.isEnabledFor(logging.INFO):
            self.server.logger.info('%s: Sending packet MESSAGE data %s',
                                    self.sid, encoded)
        return True

    def poll(self):
        # python-engineio's, but at most POLL_PACKETS per response: its
        # client refuses a payload of more and drops the connection (a
        # burst of emits to a python-socketio client on long-polling);
        # the rest waits for the client's next request
        empty = self.server.get_queue_empty_exception()
        try:
            packets = [self.queue.get(timeout=self.server.ping_interval +
                                      self.server.ping_timeout)]
        except empty:
            raise engineio.exceptions.QueueEmpty() from None
        self.queue.task_done()
        if packets == [None]:
            return []
        # a closing session's last response takes everything: there is no
        # next request
        while len(packets) < POLL_PACKETS or self.closed:
            try:
                pkt = self.queue.get(block=False)
            except empty:
                break
            self.queue.task_done()
            if pkt is None:  # the end: left for the next request to see
                self.queue.put(None)
                break
            packets.append(pkt)
        return packets

    def handle_get_request(self, environ, start_response):
        if self.server.native and 'websocket' in environ.get(
                'HTTP_UPGRADE', '').lower():
            sock, answered = handshake.server_socket(environ)
            loop = None
            if sock is not None:
                loop = transport.loop_for(self.server.async_mode, sock)
            if loop is not None:
                return self._take_websocket(environ, start_response, sock,
                                            answered, loop)
        return super().handle_get_request(environ, start_response)

    def _take_websocket(self, environ, start_response, sock, answered,
                        loop):
        if self.upgraded or self._probing is not None or self.closing \
                or self.closed:
            self.server.logger.info('%s: a second WebSocket refused',
                                    self.sid)
            return self.server._bad_request('Already upgraded')
        answer = b''  # the WSGI server's WebSocket handler has sent it
        if not answered:
            try:
                answer = handshake.accept_response(environ)
            except handshake.HandshakeError as exc:
                self.server.logger.info('%s: WebSocket refused: %s',
                                        self.sid, exc)
                return self.server._bad_request(str(exc))
        ours = handshake.take_over(sock, loop.forget)
        conn = None
        try:
            conn = Connection(ours, self, loop,
                              self.server.max_http_buffer_size,
                              self.server.max_backlog_size,
                              self.server.app_logger,
                              self.server.max_client_handlers)
            if self.connected:  # an upgrade from polling: probe first
                self.upgrading = True
                self._probing = conn
                conn.start(answer)
            else:  # a session opened on the WebSocket: OPEN is queued
                with self._switch:
                    first = [answer]
                    first.extend(_ws_frame(p) for p in self._take_queue())
                    # started before senders see it: nothing may precede
                    # the handshake's answer
                    conn.start(b''.join(first))
                    self._ws = conn
                self.connected = True
                self.upgraded = True
        except BaseException:
            if conn is None:
                ours.close()
            else:
                conn.abort()
            raise
        handshake.handled(environ)
        # the WSGI server writes this to the socket it lost (see take_over)
        start_response('101 Switching Protocols', [])
        return ()

    def _take_queue(self):
        """What the polling queue holds, in order (no-ops left out)."""
        packets = []
        while True:
            try:
                pkt = self.queue.get(block=False)
            except self.server.get_queue_empty_exception():
                return packets
            self.queue.task_done()
            if pkt is not None and pkt.packet_type != eio_packet.NOOP:
                packets.append(pkt)

    @staticmethod
    def starts_job(kind, value) -> bool:
        """Whether the WebSocket event may start a handler: a Socket.IO
        EVENT or BINARY_EVENT."""
        return kind == _speedups.websocket.EV_MESSAGE and \
            isinstance(value, str) and value[:1] in ('2', '5')

    @staticmethod
    def overtakes(kind, value) -> bool:
        """Whether the WebSocket event may be handled before the events
        held for a handler to end: a pong (which a ping timeout waits
        for), a Socket.IO ACK (which a held handler's call() may)."""
        wsm = _speedups.websocket
        return kind == wsm.EV_PONG or (
            kind == wsm.EV_MESSAGE and isinstance(value, str) and
            value[:1] == '3')

    def ws_event(self, kind, value):
        """One event of the WebSocket, in order, in the connection's drain
        job (on the loop's thread, a worker thread or a greenlet)."""
        wsm = _speedups.websocket
        if kind == wsm.EV_MESSAGE:
            if self.server.admin is not None:
                self.server.count('In', len(value))
            if self.server.logger.isEnabledFor(logging.INFO):
                self.server.logger.info(
                    '%s: Received packet MESSAGE data %s', self.sid,
                    value if isinstance(value, str) else '<binary>')
            # python-socketio's handler, called as python-engineio's
            # _trigger_event would, without its closure per message; an
            # EVENT's text the short way
            handler = self.server.handlers.get('message')
            events = self.server.events
            if events is not None and value[:1] == '2' and \
                    type(value) is str and \
                    getattr(handler, '__self__', None) is events:
                events._event_text(self, value)
            elif handler is not None:
                try:
                    handler(self.sid, value)
                except Exception:
                    self.server.logger.exception('message handler error')
        elif kind == wsm.EV_PONG:
            self.schedule_ping()
        elif kind == wsm.EV_PROBE:
            # answered by the core; end the pending poll (once: probes
            # repeated, or on a session that never polled, queue nothing),
            # the client then sends UPGRADE on the WebSocket
            if self._probing is not None and not self._probed:
                self._probed = True
                self.queue.put(eio_packet.Packet(eio_packet.NOOP))
        elif kind == wsm.EV_UPGRADE:
            conn = self._probing
            if conn is None:
                return
            if not self._probed:  # an upgrade must follow the probe
                self.server.logger.info('%s: Failed websocket upgrade, no '
                                        'probe', self.sid)
                conn.abort()  # its EV_CLOSE resets the upgrade
                return
            with self._switch:
                if self._probing is not conn:
                    return  # the session closed meanwhile
                for pkt in self._take_queue():
                    conn.write(_ws_frame(pkt))
                self._ws = conn
                self._probing = None
                self.upgraded = True
                self.upgrading = False
            self.server.logger.info('%s: Upgrade to websocket successful',
                                    self.sid)
        elif kind == wsm.EV_CLOSE:
            code, reason = value
            if self._ws is None:  # the upgrade failed: polling goes on
                self._probing = None
                self._probed = False
                self.upgrading = False
                self.server.logger.info('%s: Failed websocket upgrade (%s)',
                                        self.sid, reason)
                return
            if reason == wsm.CLIENT_CLOSED:
                why = self.server.reason.CLIENT_DISCONNECT
            elif reason == wsm.BACKLOG_EXCEEDED:
                why = reason  # the disconnect handler's reason
            elif code in (wsm.CLOSE_PROTOCOL_ERROR, wsm.CLOSE_INVALID_DATA,
                          wsm.CLOSE_TOO_BIG):
                # what the reader refuses (a client may send these codes
                # itself too, rarely)
                self.server.app_logger.warning(
                    '%s: WebSocket closed: %s', self.sid,
                    f'{reason} (close code {code})')
                why = self.server.reason.TRANSPORT_ERROR
            else:
                why = self.server.reason.TRANSPORT_CLOSE
            self.close(wait=False, abort=True, reason=why)

    def close(self, wait=True, abort=False, reason=None):
        # which transport the session ends on is decided under the switch
        # lock: an upgrade finishing at the same moment either happened
        # (close on the WebSocket) or never will (its probe is dropped)
        with self._switch:
            conn = self._ws
            probing = None
            if conn is None:
                probing, self._probing = self._probing, None
        if conn is None:
            if probing is not None:
                probing.abort()
            return super().close(wait=wait, abort=abort, reason=reason)
        if self.closed or self.closing:
            return
        self.closing = True
        self.server._trigger_event(
            'disconnect', self.sid,
            reason or self.server.reason.SERVER_DISCONNECT, run_async=False)
        if not abort:
            conn.write(_ws_frame(eio_packet.Packet(eio_packet.CLOSE)))
        self.closed = True
        conn.close()
        if self.server.sockets.get(self.sid) is self:
            del self.server.sockets[self.sid]

    def schedule_ping(self):
        pinger = self.server.pinger
        if pinger is None:
            return super().schedule_ping()
        if self.last_ping:
            self.last_ping = None
            pinger.schedule(self)

    def ping_now(self):
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            admin = self.server.admin
            if admin is not None and admin.mode == 'development':
                _admin_ping(admin, self.sid, self.last_ping)
            self.send(eio_packet.Packet(eio_packet.PING))


def _admin_ping(admin, eio_sid, now):
    """What the Admin UI's patch of python-engineio's ping sends with each
    ping (the socket's state, each namespace it is on): native sessions are
    pinged by :class:`_Pinger` instead."""
    manager = admin.sio.manager
    for namespace in manager.get_namespaces():
        sid = manager.sid_from_eio_sid(eio_sid, namespace)
        if sid:
            admin.sio.emit('socket_connected', (
                admin.serialize_socket(sid, namespace, eio_sid),
                datetime.datetime.fromtimestamp(
                    now, datetime.timezone.utc).isoformat(),
            ), namespace=admin.admin_namespace)


def _ws_frame(pkt) -> bytes:
    """An Engine.IO packet's WebSocket frame, built once per packet object
    (a broadcast shares one among its recipients)."""
    frame = getattr(pkt, 'ws_frame', None)
    if frame is None:
        encoded = pkt.encode()
        if isinstance(encoded, str):
            frame = _speedups.websocket.encode_text(encoded)
        else:
            frame = _speedups.websocket.encode_binary(encoded)
        pkt.ws_frame = frame
    return frame


class _Pinger:
    """Every session's next ping, in one background task instead of one
    per session.  With one interval for all, pings fall due in the order
    they are scheduled."""

    def __init__(self, server):
        self.server = server
        self._due = collections.deque()
        self._lock = threading.Lock()
        self._running = False

    def schedule(self, session):
        with self._lock:
            self._due.append(
                (time.monotonic() + self.server.ping_interval, session))
            if self._running:
                return
            self._running = True
        self.server.start_background_task(self._run)

    def _run(self):
        while True:
            with self._lock:
                if not self._due:
                    self._running = False
                    return
                when, session = self._due[0]
                delay = when - time.monotonic()
                if delay <= 0:
                    self._due.popleft()
            if delay > 0:
                self.server.sleep(min(delay, 1.0))
                continue
            try:
                session.ping_now()
            except Exception:
                self.server.logger.exception('%s: ping failed', session.sid)


def _read_body(environ, limit):
    """A request's body, or None when it is over ``limit`` bytes (not read
    further); ValueError for a Content-Length that is not one.  Chunked
    bodies (no Content-Length) are read up to the limit as they arrive."""
    stream = environ['wsgi.input']
    length = environ.get('CONTENT_LENGTH')
    if length:
        length = int(length)  # ValueError: a bad request
        if length < 0:
            raise ValueError(f'Content-Length {length}')
        if length > limit:
            return None
        return stream.read(length)
    if not (environ.get('wsgi.input_terminated') or
            environ.get('HTTP_TRANSFER_ENCODING', '').lower() == 'chunked'):
        return b''  # no length and no chunks: no body
    parts = []
    size = 0
    while True:
        part = stream.read(limit + 1 - size)
        if not part:
            return b''.join(parts)
        parts.append(part)
        size += len(part)
        if size > limit:
            return None


class PacketAssembler:
    """The receiving half of a client: Engine.IO payloads in, whole
    Socket.IO packets out (binary attachments joined to their packet)."""

    def __init__(self, packet_class):
        self.packet_class = packet_class
        self._pending = None

    def push(self, data):
        """Take one payload; return the packet it completes, or None."""
        if self._pending is not None:
            if not self._pending.add_attachment(data):
                return None
            pkt, self._pending = self._pending, None
            return pkt
        pkt = self.packet_class(encoded_packet=data)
        if pkt.attachment_count:
            self._pending = pkt
            return None
        return pkt
