"""The transport: client connections served without python-engineio's
per-connection threads, queues and WebSocket wrappers.

Layers, data flowing one way in each direction:

- ``_speedups.websocket`` (compiled, with its pure twin): one WebSocket's
  protocol state, sans I/O: frames in, Engine.IO events out; frames to
  send in, bytes to write out, the backlog and its bound.
- :mod:`.handshake`: the HTTP upgrade to a WebSocket, and taking the
  socket over from the WSGI server that accepted it.
- :mod:`.connection`: one taken-over WebSocket: direct writes from any
  thread, the rest in its backlog; what it reads handed, in order, to the
  session's handler on a worker thread.
- the drivers, which watch the sockets and run what they receive:
  :mod:`.loop` for threading mode (one epoll thread reads every
  connection and flushes the backlogs the sockets could not take at once;
  a worker pool that grows with the handlers running, not the clients),
  :mod:`.green` for gevent and eventlet (the hub's own loop, greenlets
  for handlers).

``_engine.py`` plugs this under python-engineio's sessions.  For now the
path is taken only when ``FLASK_SOCKETIO_TRANSPORT=native`` is set, in
threading mode on a WSGI server that hands over its socket (Werkzeug,
gunicorn), in gevent mode on gevent's pywsgi (with or without
gevent-websocket) and in eventlet mode on eventlet's server; everything
else keeps python-engineio's transport.
"""
import os
import select

#: the environment switch, read when a server is made
ENV = 'FLASK_SOCKETIO_TRANSPORT'

#: bytes that may wait unsent for one client before it is disconnected
DEFAULT_MAX_BACKLOG = 8 * 1024 * 1024


def native_wanted(async_mode: str) -> bool:
    """Whether a server in ``async_mode`` should serve its WebSockets on
    this transport."""
    if os.environ.get(ENV, '') != 'native':
        return False
    return async_mode in ('gevent', 'eventlet') or (
        async_mode == 'threading' and hasattr(select, 'epoll'))


def loop_for(async_mode: str):
    """The driver that serves connections in ``async_mode``."""
    if async_mode == 'gevent':
        from .green import GeventLoop
        return GeventLoop.current()
    if async_mode == 'eventlet':
        from .green import EventletLoop
        return EventletLoop.current()
    from .loop import Loop
    return Loop.shared()
