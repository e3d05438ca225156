"""gunicorn's graceful stop, for the WebSockets this transport holds.

At a graceful stop (SIGTERM, the old workers of a reload, ``max_requests``)
a gunicorn worker stops accepting and serves the requests in flight for up
to ``graceful_timeout``; python-engineio's WebSockets are such requests, so
stock goes on serving them until they close or that time is up.  This
transport's hold no request, so the worker would end them at once.  The
``run`` of its class (this process's one worker's) is wrapped here to go
on serving them in the same way once it returns; a quick stop (SIGINT, SIGQUIT) leaves ``run`` by ``SystemExit``
and is not held.  The grace period counts from there, as the worker's own
wait does: when clients outlast it, the arbiter's kill, due
``graceful_timeout`` after its signal, may come first, as it does for
stock's requests.

What this reads of gunicorn: the worker is the object of the SIGTERM
handler (``Worker.handle_exit``, set before the app is loaded), or, for
an app loaded first (``--preload``), the arbiter is once it forks its
workers, and its ``worker_class`` makes them; a worker has ``run``,
``booted``, ``notify`` and ``cfg.graceful_timeout``
(``tests/test_wsgi_servers.py`` stops each worker while clients are on).
"""
import os
import signal
import sys
import time

from . import open_connections

#: seconds between checks of whether the connections have ended
POLL = 0.1
#: seconds waited before the first check: gevent's worker may see a quick
#: stop as its end of ``run`` (its handler sleeps 0.1 s, then exits), which
#: ends the process meanwhile
SETTLE = 0.3

_at_fork = False  # the --preload hook is registered


def hold_gunicorn_worker() -> None:
    """Make the gunicorn worker this process is (or, under ``--preload``,
    those it forks) serve the transport's connections at its graceful stop
    until none is left or ``graceful_timeout`` has passed.  An app made
    after its worker started running is not held."""
    global _at_fork
    worker = _gunicorn('gunicorn.workers.base', 'Worker')
    if worker is not None:
        if not worker.booted:
            _hold(type(worker))
    elif 'gunicorn.arbiter' in sys.modules and not _at_fork:
        # --preload: the arbiter (its signals yet to be set) loads the
        # app; its workers are yet to be forked
        _at_fork = True
        os.register_at_fork(after_in_child=_hold_forked_worker)


def _hold_forked_worker() -> None:
    """In a child of the arbiter: the worker it is about to become."""
    arbiter = _gunicorn('gunicorn.arbiter', 'Arbiter')
    if arbiter is not None:
        _hold(arbiter.worker_class)


def _hold(cls) -> None:
    """Wrap the ``run`` of ``cls``, the class of this process's one
    worker (a forked process of its own), once."""
    if cls.__dict__.get('_flask_socketio_held'):
        return
    run = cls.run

    def run_then_serve(self):
        run(self)
        serve_on(self)

    cls.run = run_then_serve
    cls._flask_socketio_held = True


def _gunicorn(module: str, name: str):
    """The gunicorn object (of class ``name`` in ``module``) whose method
    is this process's SIGTERM handler, if any."""
    loaded = sys.modules.get(module)
    handler = getattr(signal.getsignal(signal.SIGTERM), '__self__', None)
    if loaded is not None and isinstance(handler, getattr(loaded, name)):
        return handler
    return None


def serve_on(worker) -> None:
    """Wait, telling the arbiter the worker is alive, while connections
    are open and the grace period lasts; the transport's threads (or the
    hub, whose greenlets ``time.sleep`` yields to under gevent) serve
    them meanwhile."""
    deadline = time.monotonic() + worker.cfg.graceful_timeout
    left = open_connections()
    if left:
        time.sleep(SETTLE)
        left = open_connections()
    if left:
        worker.log.info('Waiting for %d WebSocket connection(s) to end',
                        left)
    while left and time.monotonic() < deadline:
        worker.notify()
        time.sleep(POLL)
        left = open_connections()
