"""The ``SocketIO`` extension object: configuration and handler dispatch."""
from __future__ import annotations

import functools
import inspect
import os
from typing import Any, Callable, Optional

import flask
import socketio

from . import serving
from ._engine import REFUSALS, HandlerTypeError, Server
from .middleware import SocketIOMiddleware
from .queues import client_manager_for
from .sessions import handler_context, save_flask_session

_EXTENSION_OPTIONS = ('message_queue', 'channel', 'path', 'resource')


class _FlaskJSON:
    """``flask.json`` bound to one app: the app's JSON provider, which needs
    no application context, so packets encoded outside requests (background
    tasks, other threads) get the app's JSON without one being pushed (and
    its teardown callbacks run) for every packet."""

    def __init__(self, app):
        self.app = app

    def dumps(self, obj, **kwargs):
        return self.app.json.dumps(obj, **kwargs)

    def loads(self, s, **kwargs):
        return self.app.json.loads(s, **kwargs)


_WITH, _WITHOUT, _UNKNOWN = 'with', 'without', 'unknown'


def _inspect_argument_mode(handler: Callable) -> str:
    """Whether ``handler`` can be called with one positional argument
    (``_WITH``), only without (``_WITHOUT``), or its signature cannot tell
    (``_UNKNOWN``: a ``*args`` wrapper, a builtin), in which case it is
    called as Flask-SocketIO calls it: with, then without on TypeError.
    The wrapper's own signature counts, not that of a function it names
    in ``__wrapped__``: it is the wrapper that is called."""
    try:
        signature = inspect.signature(handler, follow_wrapped=False)
    except (TypeError, ValueError):
        return _UNKNOWN
    if any(p.kind is p.VAR_POSITIONAL
           for p in signature.parameters.values()):
        return _UNKNOWN
    for mode, args in ((_WITH, (None,)), (_WITHOUT, ())):
        try:
            signature.bind(*args)
            return mode
        except TypeError:
            pass
    return _UNKNOWN


_cached_argument_mode = functools.lru_cache(maxsize=1024)(
    _inspect_argument_mode)


def _call_with_optional(handler: Callable, arg):
    """Call a connect handler with ``auth`` or a disconnect handler with
    ``reason``, an argument either may leave out of its signature.  A
    handler whose signature shows it takes the argument is called once,
    so a TypeError raised in its body is not mistaken for a mismatch."""
    try:
        mode = _cached_argument_mode(handler)
    except TypeError:  # unhashable callable
        mode = _inspect_argument_mode(handler)
    if mode is _WITH:
        return handler(arg)
    if mode is _WITHOUT:
        return handler()
    try:
        return handler(arg)
    except TypeError:
        return handler()


class SocketIO:
    """Socket.IO support for a Flask application.

    A drop-in for Flask-SocketIO's ``SocketIO``: the same options (see
    https://flask-socketio.readthedocs.io/ and this project's README),
    passed either here or to :meth:`init_app`.
    With no app but a ``message_queue``, the object is a write-only emitter
    for processes that only publish through the queue.
    """

    reason = socketio.Server.reason

    def __init__(self, app: Optional[flask.Flask] = None, **kwargs: Any):
        self.server: Optional[Server] = None
        self.server_options: dict = {}
        self.wsgi_server = None
        self._stop_server = None
        self.handlers: list = []
        self.namespace_handlers: list = []
        self.exception_handlers: dict = {}
        self.default_exception_handler: Optional[Callable] = None
        self.manage_session = True
        self.sockio_mw: Optional[SocketIOMiddleware] = None
        self.app = None
        if app is not None or 'message_queue' in kwargs:
            self.init_app(app, **kwargs)
        else:
            self.server_options.update(kwargs)

    def init_app(self, app: Optional[flask.Flask], **kwargs: Any) -> None:
        """Attach to ``app`` (app factory pattern); options given here are
        merged over those given to the constructor."""
        if app is not None:
            app.extensions['socketio'] = self
            self.app = app
        self.server_options.update(kwargs)
        self.manage_session = self.server_options.pop('manage_session',
                                                      self.manage_session)
        url = self.server_options.get('message_queue')
        if url and 'client_manager' not in kwargs:
            self.server_options['client_manager'] = client_manager_for(
                url, channel=self.server_options.get('channel',
                                                     'flask-socketio'),
                write_only=app is None)
        # what the extension consumes stays in server_options (a later
        # init_app starts from it); the server gets the rest
        options = {k: v for k, v in self.server_options.items()
                   if k not in _EXTENSION_OPTIONS}
        path = (self.server_options.get('path')
                or self.server_options.get('resource') or 'socket.io')
        # as Flask-SocketIO: one leading slash dropped, so '/' is the root
        path = path[1:] if path.startswith('/') else path
        if options.get('json') is flask.json and app is not None:
            options['json'] = _FlaskJSON(app)
        if os.environ.get('FLASK_RUN_FROM_CLI') and \
                options.get('async_mode') is None:
            # `flask run` serves with Werkzeug's threads whatever is installed
            options['async_mode'] = 'threading'

        self.server = Server(**options)
        self.async_mode = self.server.async_mode
        for message, handler, namespace in self.handlers:
            self.server.on(message, handler, namespace=namespace)
        for namespace_handler in self.namespace_handlers:
            self.server.register_namespace(namespace_handler)

        if app is not None:
            self.sockio_mw = SocketIOMiddleware(self.server, app,
                                                socketio_path=path)
            app.wsgi_app = self.sockio_mw

    # -- handler registration -----------------------------------------------

    def on(self, message: str, namespace: Optional[str] = None):
        """Decorator registering a handler for ``message``: an event name,
        ``'connect'``/``'disconnect'`` (their ``auth``/``reason`` argument is
        optional), ``'message'``/``'json'``, or ``'*'`` for any event (the
        handler gets the event's name first); ``namespace='*'`` for any
        namespace (``request.namespace`` says which)."""
        namespace = namespace or '/'

        def decorator(handler):
            dispatch = self._make_dispatcher(handler, message, namespace)
            if self.server is not None:
                self.server.on(message, dispatch, namespace=namespace)
            else:
                self.handlers.append((message, dispatch, namespace))
            return handler
        return decorator

    def _make_dispatcher(self, handler, message, namespace):
        """Adapt python-socketio's calling convention, which varies with
        catch-alls, to Flask-SocketIO's: ``sid`` goes to ``request.sid``,
        the namespace to ``request.namespace``, the rest to the handler."""
        any_event = message == '*'
        any_namespace = namespace == '*'

        if not any_event and not any_namespace:
            def dispatch(sid, *args):
                return self._handle_event(handler, message, namespace, sid,
                                          *args)
            functools.update_wrapper(dispatch, handler)
            # what an event's short way (_engine.Server._run_event) calls,
            # the connection's environ in hand
            dispatch._in_environ = functools.partial(
                self._handle_event_in, handler, message, namespace)
            return dispatch
        else:
            def dispatch(*args):
                event = None
                if any_event:
                    event, *args = args
                real_ns = namespace
                if any_namespace:
                    real_ns, *args = args
                sid, *args = args
                if any_event:
                    args = [event, *args]
                return self._handle_event(handler, message, real_ns, sid,
                                          *args)
        return functools.update_wrapper(dispatch, handler)

    def on_error(self, namespace: Optional[str] = None):
        """Decorator for the error handler of ``namespace``."""
        namespace = namespace or '/'

        def decorator(exception_handler):
            if not callable(exception_handler):
                raise ValueError('exception_handler must be callable')
            self.exception_handlers[namespace] = exception_handler
            return exception_handler
        return decorator

    def on_error_default(self, exception_handler: Callable) -> Callable:
        """Decorator for the error handler of namespaces without one."""
        if not callable(exception_handler):
            raise ValueError('exception_handler must be callable')
        self.default_exception_handler = exception_handler
        return exception_handler

    def on_event(self, message: str, handler: Callable,
                 namespace: Optional[str] = None) -> None:
        """Register ``handler`` for ``message`` without a decorator."""
        self.on(message, namespace=namespace)(handler)

    def event(self, *args, **kwargs):
        """Decorator registering a handler named after the function."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def decorator(handler):
            return self.on(handler.__name__, *args, **kwargs)(handler)
        return decorator

    def on_namespace(self, namespace_handler) -> None:
        """Register a class-based :class:`~flask_socketio.Namespace`."""
        from .namespace import Namespace
        if not isinstance(namespace_handler, Namespace):
            raise ValueError('Not a namespace instance.')
        namespace_handler._set_socketio(self)
        if self.server is not None:
            self.server.register_namespace(namespace_handler)
        else:
            self.namespace_handlers.append(namespace_handler)

    # -- server-originated traffic -------------------------------------------

    def emit(self, event: str, *args, namespace: Optional[str] = None,
             to=None, room=None, include_self: bool = True, skip_sid=None,
             callback: Optional[Callable] = None, **kwargs) -> None:
        """Emit ``event`` to one client, a room, or the whole namespace.

        Usable anywhere (handlers, HTTP routes, background tasks).  Several
        positional arguments, or one tuple, reach the client as several
        arguments.
        """
        namespace = namespace or '/'
        if not include_self and not skip_sid:
            skip_sid = flask.request.sid
        if callback is not None:
            callback = self._context_callback(callback, namespace)
        # as room=: python-socketio reads ``to or room``, which would take a
        # room named 0 or '' for no room at all, and broadcast
        self.server.emit(event, _payload(args), namespace=namespace,
                         room=to if to is not None else room,
                         skip_sid=skip_sid, callback=callback, **kwargs)

    def _emit_back(self, event: str, args: tuple, request) -> bool:
        """:func:`~flask_socketio.emit` of ``event`` from the handler of
        ``request`` to its sender, every option at its default: the
        server's short way where it has one and this object's ``emit`` is
        not replaced (True: done)."""
        if type(self).emit is not _SOCKETIO_EMIT or 'emit' in self.__dict__:
            return False  # replaced (a mock's wrapper, instrumentation)
        emit_to_sender = getattr(self.server, '_emit_to_sender', None)
        if emit_to_sender is None:
            return False
        namespace = request.namespace  # as emit() reads them: namespace,
        return emit_to_sender(event, _payload(args), namespace or '/',
                              request.sid)  # then sid

    def call(self, event: str, *args, namespace: Optional[str] = None,
             to=None, room=None, timeout: int = 60, **kwargs):
        """Emit to one client and wait for its acknowledgement; returns the
        acknowledgement's arguments (one value, or a list of several)."""
        return self.server.call(event, _payload(args),
                                namespace=namespace or '/',
                                to=to if to is not None else room,
                                timeout=timeout, **kwargs)

    def send(self, data, json: bool = False, namespace: Optional[str] = None,
             to=None, callback: Optional[Callable] = None,
             include_self: bool = True, skip_sid=None, **kwargs) -> None:
        """Send a ``message`` (or, with ``json=True``, a ``json``) event."""
        if not include_self:
            skip_sid = flask.request.sid  # as Flask-SocketIO's send() does
        self.emit('json' if json else 'message', data, namespace=namespace,
                  to=to, include_self=include_self, skip_sid=skip_sid,
                  callback=callback, **kwargs)

    def close_room(self, room, namespace: Optional[str] = None) -> None:
        """Remove every client from ``room`` and delete it."""
        self.server.close_room(room, namespace or '/')

    def _context_callback(self, callback, namespace):
        """Run an ack callback in the emitting handler's Flask context when
        the emit came from a handler; as it is otherwise."""
        if not flask.has_request_context():
            return callback
        sid = getattr(flask.request, 'sid', None)
        if sid is None:
            return callback
        origin_ns = getattr(flask.request, 'namespace', None) or namespace

        def in_context(*args):
            return self._handle_event(callback, None, origin_ns, sid, *args)
        return in_context

    # -- running --------------------------------------------------------------

    def run(self, app: flask.Flask, host: Optional[str] = None,
            port: Optional[int] = None, **kwargs) -> None:
        """Run the web server that suits the async mode (see ``serving``)."""
        serving.run(self, app, host, port, **kwargs)

    def stop(self) -> None:
        """Stop the server started by :meth:`run` (callable from handlers)."""
        serving.stop(self)

    def start_background_task(self, target: Callable, *args, **kwargs):
        """Run ``target`` in a thread or greenlet of the async mode; the
        returned object has ``join()``."""
        return self.server.start_background_task(target, *args, **kwargs)

    def sleep(self, seconds: float = 0) -> None:
        """Sleep in the way the async mode requires."""
        return self.server.sleep(seconds)

    def test_client(self, app, namespace=None, query_string=None,
                    headers=None, auth=None, flask_test_client=None):
        """A :class:`~flask_socketio.SocketIOTestClient` for this server."""
        from .test_client import SocketIOTestClient
        return SocketIOTestClient(app, self, namespace=namespace,
                                  query_string=query_string, headers=headers,
                                  auth=auth,
                                  flask_test_client=flask_test_client)

    # -- dispatch into Flask --------------------------------------------------

    def _handle_event(self, handler, message, namespace, sid, *args,
                      error_handler=None):
        """Run ``handler`` inside the connection's Flask request context."""
        environ = self.server.get_environ(sid, namespace=namespace)
        if not environ:
            # the client is gone (e.g. a late acknowledgement): nothing to do
            return None
        return self._handle_event_in(handler, message, namespace, environ,
                                     sid, *args, error_handler=error_handler)

    def _handle_event_in(self, handler, message, namespace, environ, sid,
                         *args, error_handler=None):
        """:meth:`_handle_event` with the connection's ``environ``."""
        app = environ.get('flask.app') or self.app
        try:
            # pushed and popped as a with statement would, without the
            # calls to its __enter__ and __exit__
            ctx = handler_context(app, environ, self.manage_session)
            ctx.push()
            exc = None
            try:
                request = ctx.request
                request.sid = sid
                request.namespace = namespace
                request.event = {'message': message, 'args': args}
                try:
                    if message == 'connect':
                        # python-socketio's (environ, auth)
                        ret = _call_with_optional(
                            handler, args[1] if len(args) > 1 else None)
                    elif message == 'disconnect' and args:
                        ret = _call_with_optional(handler, args[0])
                    else:
                        ret = handler(*args)
                except REFUSALS:
                    raise
                except Exception as error:
                    on_error = self.exception_handlers.get(
                        namespace, self.default_exception_handler)
                    if on_error is not None:
                        try:
                            return on_error(error)
                        except Exception as reraised:
                            if error_handler is None:
                                raise
                            error = reraised
                    if error_handler is None:
                        raise
                    # a class-based namespace's error() method comes last
                    return error_handler(error)
                if not self.manage_session:
                    save_flask_session(app, ctx.session)
                return ret
            except BaseException as raised:
                exc = raised
                raise
            finally:
                ctx.pop(exc)
                exc = None  # no cycle through the traceback's frame
        except TypeError as exc:
            if message == 'connect' or message == 'disconnect':
                # python-socketio would take it for a legacy signature and
                # call the handler again
                raise HandlerTypeError(str(exc)) from exc
            raise


#: SocketIO's own emit, as defined here (see SocketIO._emit_back)
_SOCKETIO_EMIT = SocketIO.emit


def _payload(args: tuple):
    """Flask-SocketIO's ``*args`` as python-socketio's ``data``."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return args
