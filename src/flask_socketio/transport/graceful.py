"""gunicorn's graceful stop, for the WebSockets this transport holds.

At a graceful stop (SIGTERM, the old workers of a reload, ``max_requests``)
a gunicorn worker stops accepting and serves the requests in flight for up
to ``graceful_timeout``; python-engineio's WebSockets are such requests, so
stock goes on serving them until they close or that time is up.  This
transport's hold no request, so the worker would end them at once.  Its
``run`` is wrapped here to go on serving them in the same way once it
returns; a quick stop (SIGINT, SIGQUIT) leaves ``run`` by ``SystemExit``
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

#: seconds between checks of whether the connections have ended
POLL = 0.1
#: seconds waited before the first check: gevent's worker may see a quick
#: stop as its end of ``run`` (its handler sleeps 0.1 s, then exits), which
#: ends the process meanwhile
SETTLE = 0.3


def hold_gunicorn_worker(open_connections) -> None:
    """Make the gunicorn worker this process is (or, under ``--preload``,
    those it forks) serve the transport's connections at its graceful stop
    until ``open_connections()`` is 0 or ``graceful_timeout`` has passed.
    An app made after its worker started running is not held."""
    worker = _gunicorn('gunicorn.workers.base', 'Worker')
    if worker is not None and not worker.booted:
        if not getattr(worker, '_flask_socketio_held', False):
            run = worker.run

            def run_then_serve():
                run()
                serve_on(worker, open_connections)

            worker.run = run_then_serve
            worker._flask_socketio_held = True
    elif 'gunicorn.arbiter' in sys.modules and worker is None:
        # --preload: the arbiter (its signals yet to be set) loads the
        # app; its workers are yet to be forked
        global _forked_hold
        if _forked_hold is None:
            _forked_hold = open_connections
            os.register_at_fork(after_in_child=_hold_forked_worker)


_forked_hold = None


def _hold_forked_worker() -> None:
    """In a child of the arbiter (a worker before its ``init_process``):
    its worker class, this process's alone, serves on as above."""
    arbiter = _gunicorn('gunicorn.arbiter', 'Arbiter')
    if arbiter is None:
        return
    cls = arbiter.worker_class
    run = cls.run

    def run_then_serve(self):
        run(self)
        serve_on(self, _forked_hold)

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


def serve_on(worker, open_connections) -> None:
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
