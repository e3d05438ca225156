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

``_engine.py`` plugs this under python-engineio's sessions.  It serves
the WebSockets of threading mode on a WSGI server that hands over its
socket (Werkzeug, gunicorn), of gevent mode on gevent's pywsgi (with or
without gevent-websocket) and of eventlet mode on eventlet's server;
everything else (TLS sockets, gevent_uwsgi, servers that keep their
socket) stays on python-engineio's transport, and so does everything when
``FLASK_SOCKETIO_TRANSPORT=engine`` is set.
"""
import os
import select

#: the environment switch, read when a server is made: ``native`` (the
#: default) or ``engine`` (python-engineio's transport throughout)
ENV = 'FLASK_SOCKETIO_TRANSPORT'
CHOICES = ('native', 'engine')

#: bytes that may wait unsent for one client before it is disconnected
DEFAULT_MAX_BACKLOG = 8 * 1024 * 1024

#: handlers of one client's events that may run at once; its further
#: events wait for one to end
DEFAULT_MAX_CLIENT_HANDLERS = 64

#: the drivers made in this process (the epoll loop, one per green hub)
drivers = []


def open_connections() -> int:
    """The WebSockets this process's drivers serve."""
    return sum(len(driver) for driver in list(drivers))


def native_wanted(async_mode: str) -> bool:
    """Whether a server in ``async_mode`` should serve its WebSockets on
    this transport."""
    choice = os.environ.get(ENV, '') or 'native'
    if choice not in CHOICES:
        raise ValueError(f'{ENV} is {choice!r}; it may be one of '
                         f'{", ".join(CHOICES)}')
    if choice == 'engine' or os.name != 'posix':
        return False
    return async_mode in ('gevent', 'eventlet') or (
        async_mode == 'threading' and hasattr(select, 'epoll'))


def loop_for(async_mode: str, sock):
    """The driver that serves ``sock`` in ``async_mode``, or None when the
    socket is not one that mode's loop can serve: a green mode needs the
    socket of its own hub's server (gevent or eventlet installed makes it
    the mode even under a threaded server, which runs no hub), threading
    mode a plain one."""
    green = type(sock).__module__.partition('.')[0]
    if async_mode == 'gevent' == green:
        from .green import GeventLoop
        return GeventLoop.current()
    if async_mode == 'eventlet' == green:
        from .green import EventletLoop
        return EventletLoop.current()
    if async_mode == 'threading' and green not in ('gevent', 'eventlet'):
        from .loop import Loop
        return Loop.shared()
    return None
