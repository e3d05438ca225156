"""``SocketIO.run()`` and ``stop()``: the web server of each async mode.

- threading: ``app.run()`` (Werkzeug's threaded server), WebSocket through
  simple-websocket;
- eventlet: ``eventlet.wsgi``;
- gevent: ``gevent.pywsgi``, with gevent-websocket's handler when installed
  (simple-websocket otherwise).

The server object is kept on the extension (``socketio.wsgi_server``) so
that ``stop()`` can end ``run()`` from any handler.
"""
from __future__ import annotations

import logging
import socket
import sys
import threading
import time

log = logging.getLogger('werkzeug')

_SSL_ARGS = ('keyfile', 'certfile', 'server_side', 'cert_reqs', 'ssl_version',
             'ca_certs', 'do_handshake_on_connect', 'suppress_ragged_eofs',
             'ciphers')


def _address(app, host, port):
    if host is None:
        host = '127.0.0.1'
    if port is None:
        server_name = app.config.get('SERVER_NAME')
        if server_name and ':' in server_name:
            port = int(server_name.rsplit(':', 1)[1])
        else:
            port = 5000
    return host, int(port)


def run(socketio, app, host=None, port=None, **kwargs):
    host, port = _address(app, host, port)
    debug = kwargs.pop('debug', app.debug)
    log_output = kwargs.pop('log_output', debug)
    use_reloader = kwargs.pop('use_reloader', debug)
    reloader_options = dict(kwargs.pop('reloader_options', {}))
    extra_files = kwargs.pop('extra_files', None)
    if extra_files:
        reloader_options['extra_files'] = extra_files
    allow_unsafe_werkzeug = kwargs.pop('allow_unsafe_werkzeug', False)
    app.debug = debug

    mode = socketio.server.eio.async_mode
    if mode == 'threading':
        # handed over to app.run(), as Flask-SocketIO does: its banner, its
        # `flask run` guard, its debugger, reloader, dotenv and static files
        _check_werkzeug_allowed(allow_unsafe_werkzeug)
        kwargs.setdefault('threaded', True)
        kwargs['request_handler'] = _request_handler(
            socketio, host, port, kwargs.get('request_handler'))
        app.run(host=host, port=port, use_reloader=use_reloader,
                **reloader_options, **kwargs)
        return

    # run_with_reloader() names its interval differently from app.run()
    for option, name in (('reloader_type', 'reloader_type'),
                         ('reloader_interval', 'interval'),
                         ('exclude_patterns', 'exclude_patterns')):
        if option in kwargs:
            reloader_options[name] = kwargs.pop(option)
    use_debugger = kwargs.pop('use_debugger', debug)
    use_evalex = kwargs.pop('use_evalex', True)
    if use_debugger and socketio.sockio_mw is not None:
        # the debugger goes between the Socket.IO middleware and the app
        from werkzeug.debug import DebuggedApplication
        socketio.sockio_mw.wsgi_app = DebuggedApplication(
            socketio.sockio_mw.wsgi_app, evalex=use_evalex)
    if mode == 'eventlet':
        serve = _eventlet_server(socketio, app, host, port, log_output, kwargs)
    elif mode == 'gevent':
        serve = _gevent_server(socketio, app, host, port, log_output, kwargs)
        if use_reloader:
            # the reloader's threads and sleeps must yield to the server's
            # greenlets (without this its child dies with LoopExit)
            from gevent import monkey
            monkey.patch_thread()
            monkey.patch_time()
    else:
        raise RuntimeError(f'run() cannot start a server in async mode '
                           f'{mode!r}: start the application with its own '
                           f'server (e.g. uwsgi for gevent_uwsgi)')

    if use_reloader:
        from werkzeug._reloader import run_with_reloader
        run_with_reloader(serve, **reloader_options)
    else:
        serve()


def stop(socketio):
    """Stop the server started by ``run()``.

    The stop runs in a task of its own, so a handler may call this and
    still return its response.
    """
    stopper = getattr(socketio, '_stop_server', None)
    if stopper is None:
        raise RuntimeError('Cannot stop unknown web server')
    socketio.server.start_background_task(stopper)


def _check_werkzeug_allowed(allow_unsafe_werkzeug):
    if sys.stdin and sys.stdin.isatty():
        return
    if not allow_unsafe_werkzeug:
        raise RuntimeError('The Werkzeug web server is not designed to run '
                           'in production. Pass allow_unsafe_werkzeug=True '
                           'to the run() method to disable this error.')
    log.warning('Werkzeug appears to be used in a production deployment. '
                'Consider switching to a production web server instead.')


def _request_handler(socketio, host, port, base=None):
    """The request handler ``app.run()`` is given: the application's own
    (or Werkzeug's), which also hands its server to ``stop()``, since
    ``app.run()`` keeps the server to itself."""
    from werkzeug.serving import WSGIRequestHandler
    stopper = _WerkzeugStopper(host, port)
    socketio._stop_server = stopper

    class Handler(base or WSGIRequestHandler):
        def setup(self):
            if stopper.server is None:
                stopper.found(socketio, self.server)
            super().setup()

        def run_wsgi(self):
            try:
                super().run_wsgi()
            finally:
                if self.headers.get('Upgrade', '').lower() == 'websocket':
                    # the WebSocket owned this connection: never read the
                    # peer's closing frames as another HTTP request (a 400
                    # reply in place of the close frame; clients hang)
                    self.close_connection = True
    return Handler


class _WerkzeugStopper:
    """``stop()`` for the server ``app.run()`` started, known from its first
    connection.  Until one has come (a stop called right after start-up),
    it connects to the server itself to learn it."""

    def __init__(self, host, port):
        self.address = (host, port)
        self.server = None
        self.known = threading.Event()

    def found(self, socketio, server):
        self.server = server
        socketio.wsgi_server = server
        self.known.set()

    def __call__(self):
        from werkzeug.serving import is_running_from_reloader
        deadline = time.monotonic() + 5.0
        while not self.known.is_set() and time.monotonic() < deadline:
            try:
                socket.create_connection(self.address, timeout=0.5).close()
            except OSError:
                pass
            self.known.wait(0.05)
        if self.server is None:
            raise RuntimeError('Cannot stop unknown web server')
        self.server.shutdown()
        if is_running_from_reloader():
            # the reloader's child serves in a thread while its main thread
            # watches files: end that too, so run() returns
            import _thread
            _thread.interrupt_main()


def _eventlet_server(socketio, app, host, port, log_output, kwargs):
    def serve():
        import eventlet
        import eventlet.green.socket
        import eventlet.wsgi
        addresses = eventlet.green.socket.getaddrinfo(host, port)
        if not addresses:
            raise RuntimeError('Could not resolve host to a valid address')
        sock = eventlet.listen(addresses[0][4], addresses[0][0])
        ssl_params = {k: kwargs.pop(k) for k in list(kwargs)
                      if k in _SSL_ARGS and kwargs[k] is not None}
        if ssl_params:
            ssl_params['server_side'] = True
            sock = eventlet.wrap_ssl(sock, **ssl_params)
        pool = kwargs.pop('custom_pool', None) or eventlet.GreenPool(
            kwargs.pop('max_size', 1024))
        server = eventlet.spawn(eventlet.wsgi.server, sock, app,
                                log_output=log_output, custom_pool=pool,
                                **kwargs)

        def stop_server():
            # killing eventlet.wsgi.server stops accepting, then waits for
            # every request still running: a long-polling GET would hold
            # run() up to the ping interval.  Give requests a second to end,
            # as gevent's stop() does, then end the rest.
            server.kill()
            deadline = time.monotonic() + 1.0
            while pool.running() and time.monotonic() < deadline:
                eventlet.sleep(0.02)
            for thread in list(pool.coroutines_running):
                thread.kill()

        socketio.wsgi_server = server
        socketio._stop_server = stop_server
        try:
            server.wait()
        except eventlet.greenlet.GreenletExit:
            pass
        finally:
            sock.close()
    return serve


def _gevent_server(socketio, app, host, port, log_output, kwargs):
    from gevent import pywsgi
    try:
        from geventwebsocket.handler import WebSocketHandler
    except ImportError:
        # engineio falls back to simple-websocket for the transport
        WebSocketHandler = pywsgi.WSGIHandler
    server = pywsgi.WSGIServer((host, port), app,
                               handler_class=WebSocketHandler,
                               log='default' if log_output else None,
                               **kwargs)
    socketio.wsgi_server = server
    socketio._stop_server = server.stop
    return server.serve_forever
