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
- :mod:`.loop`: the threading driver: one epoll thread reads every
  connection and flushes the backlogs the sockets could not take at once;
  a worker pool that grows with the handlers running, not the clients.

``_engine.py`` plugs this under python-engineio's sessions.  For now the
path is taken only when ``FLASK_SOCKETIO_TRANSPORT=native`` is set, in
threading mode, on a WSGI server that hands over its socket (Werkzeug,
gunicorn); everything else keeps python-engineio's transport.
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
    return (os.environ.get(ENV, '') == 'native' and
            async_mode == 'threading' and hasattr(select, 'epoll'))
