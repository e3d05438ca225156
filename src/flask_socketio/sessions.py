"""User sessions inside Socket.IO handlers.

With ``manage_session=True`` (the default) each connection gets its own
session, a copy of the Flask session at connect time, kept in the
connection's WSGI environ and never written back to the cookie: a Socket.IO
connection has no HTTP response to carry a new cookie.  With
``manage_session=False`` Flask's session interface opens the session for
every event and saves it after, which lets server-side session stores share
it between HTTP routes and Socket.IO events.
"""
from __future__ import annotations

import hashlib
import inspect
import sys
import textwrap

import flask
import werkzeug.wrappers
from flask.ctx import AppContext, RequestContext
from flask.globals import _cv_app, _cv_request
from flask.sessions import SessionMixin
from flask.signals import (appcontext_popped, appcontext_pushed,
                           appcontext_tearing_down, request_tearing_down)

#: key of the managed session in the connection's environ (applications'
#: tests written for Flask-SocketIO look it up there)
SAVED_SESSION = 'saved_session'


class ManagedSession(dict, SessionMixin):
    """A plain dict with the attributes Flask expects of a session."""


#: key of the connection's URL match in its environ (see EventContext)
MATCHED = 'flask_socketio.matched'


def _digest(function) -> str:
    """A digest of a function's source, its blank lines and comments
    left out ('' when the source cannot be read)."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return ''
    lines = [line.strip() for line in source.splitlines()
             if line.strip() and not line.strip().startswith('#')]
    return hashlib.sha256('\n'.join(lines).encode()).hexdigest()[:16]


#: the ``RequestContext.pop``, ``AppContext.pop`` and werkzeug
#: ``Request.close`` whose steps ``EventContext.pop`` follows (the same in
#: Flask 2.3.3 to 3.1.3; werkzeug 3.1.9), and the ``RequestContext.push``,
#: ``AppContext.__init__``/``push`` and ``Flask.app_context`` whose steps
#: ``EventContext.push`` follows (Flask 2.3.3 to 3.1.3); under any other
#: it leaves the step to them
KNOWN = frozenset({'7e25b3ead19cde23', '5559e842d1d42e61',
                   '78d06fc063c76ef7',
                   '0edb51ca239fd95f', '06ec88f5bd765e88',  # push
                   '70002c7e281c5f8a', '732cac31bc06a01f',  # AppContext()
                   '6e366598a303e338', 'cf1aed3c2f5ca22f'})


def _plain(function) -> bool:
    """Whether ``function`` is its library's own, not wrapped (by an APM's
    instrumentation, say) before this module was imported."""
    return not hasattr(function, '__wrapped__') and \
        function.__module__.split('.')[0] in ('flask', 'werkzeug')


#: Flask's and werkzeug's own, as this module found them
_TEARDOWN = flask.Flask.do_teardown_request
_APP_TEARDOWN = flask.Flask.do_teardown_appcontext
_CLOSE = werkzeug.wrappers.Request.close
_QUIET_POP = _digest(RequestContext.pop) in KNOWN and \
    _plain(_TEARDOWN)
_QUIET_APP_POP = _digest(AppContext.pop) in KNOWN and \
    _plain(_APP_TEARDOWN)
_QUIET_CLOSE = _digest(_CLOSE) in KNOWN and _plain(_CLOSE)
_PUSH = RequestContext.push
_APP_INIT = AppContext.__init__
_APP_PUSH = AppContext.push
_APP_CONTEXT = flask.Flask.app_context
_QUIET_PUSH = all(_digest(f) in KNOWN and _plain(f) for f in (
    _PUSH, _APP_INIT, _APP_PUSH, _APP_CONTEXT))
_UNSET = object()


def _steps_are_plain(app, request) -> bool:
    """Whether the steps of Flask and werkzeug that EventContext's push and
    pop follow are the ones read here (``KNOWN``, not wrapped), neither
    replaced since nor overridden by the app's or the request's class.
    A connection's template (:class:`ContextTemplate`) asks once, at its
    first event; other contexts at each push and pop."""
    return _QUIET_PUSH and _QUIET_POP and _QUIET_APP_POP and \
        _QUIET_CLOSE and RequestContext.push is _PUSH and \
        AppContext.__init__ is _APP_INIT and AppContext.push is _APP_PUSH \
        and type(app).app_context is _APP_CONTEXT and \
        type(app).do_teardown_request is _TEARDOWN and \
        type(app).do_teardown_appcontext is _APP_TEARDOWN and \
        type(request).close is _CLOSE


class EventContext(RequestContext):
    """A handler's request context: a connection's URL is matched against
    the app's routes once, at its first event, not at every one (Flask's
    own hook for it, ``match_request``); each event gets its own copy of
    ``view_args``; the push leaves out the signal nobody hears, and the
    pop the teardown steps that would run nothing (no teardown function,
    nothing connected to the signals, no form parsed), where the steps
    are Flask's own (``_steps_are_plain``)."""

    def match_request(self) -> None:
        request = self.request
        matched = request.environ.get(MATCHED)
        if matched is None:
            super().match_request()
            view_args = request.view_args
            request.environ[MATCHED] = (
                request.url_rule,
                None if view_args is None else dict(view_args),
                request.routing_exception)
            return
        rule, view_args, routing_exception = matched
        request.url_rule = rule
        request.view_args = None if view_args is None else dict(view_args)
        if routing_exception is not None:
            request.routing_exception = routing_exception

    def push(self) -> None:
        app = self.app
        fields = self.__dict__
        plain = fields.get('_plain')  # the template's word, if it has one
        if plain is None:
            plain = _steps_are_plain(app, self.request)
        if not plain or appcontext_pushed.receivers or \
                (fields.get('_session') is None and
                 fields.get('session') is None) or \
                _cv_app.get(None) is not None:
            super().push()
            return
        # the steps of Flask's push for a context whose session is open,
        # with no app context active: a new app context, pushed without
        # the signal nobody hears, then the request's URL match
        app_ctx = AppContext.__new__(AppContext)
        app_ctx.app = app
        app_ctx.url_adapter = app.create_url_adapter(None)
        app_ctx.g = app.app_ctx_globals_class()
        app_ctx._cv_tokens = [_cv_app.set(app_ctx)]
        self._cv_tokens.append((_cv_request.set(self), app_ctx))
        if self.url_adapter is not None:
            self.match_request()

    def pop(self, exc=_UNSET) -> None:
        app = self.app
        plain = self.__dict__.get('_plain')
        if plain is None:
            plain = _steps_are_plain(app, self.request)
        if not plain or len(self._cv_tokens) != 1 or \
                request_tearing_down.receivers or \
                any(app.teardown_request_funcs.values()):
            super().pop() if exc is _UNSET else super().pop(exc)
            return
        # the steps of Flask's pop but the teardown, which would run
        # nothing, and the request's close, which has nothing to close
        # when no form was parsed; the app context's likewise
        if exc is _UNSET:
            exc = sys.exc_info()[1]
        try:
            if 'files' in self.request.__dict__:
                self.request.close()
        finally:
            popped = _cv_request.get()
            token, app_ctx = self._cv_tokens.pop()
            _cv_request.reset(token)
            popped.request.environ['werkzeug.request'] = None
            if app_ctx is not None:
                if type(app_ctx) is not AppContext or \
                        len(app_ctx._cv_tokens) != 1 or \
                        app_ctx.app.teardown_appcontext_funcs or \
                        appcontext_tearing_down.receivers or \
                        appcontext_popped.receivers:
                    app_ctx.pop(exc)
                else:
                    popped_app = _cv_app.get()
                    _cv_app.reset(app_ctx._cv_tokens.pop())
                    if popped_app is not app_ctx:
                        raise AssertionError(
                            f'Popped wrong app context. ({popped_app!r} '
                            f'instead of {app_ctx!r})')
            if popped is not self:
                raise AssertionError(f'Popped wrong request context. '
                                     f'({popped!r} instead of {self!r})')


class _FirstEventContext(EventContext):
    """The request context of a connection's first handler: Flask opens the
    user session on push, with this very request context active (as custom
    session interfaces may require, and without an extra app context whose
    teardown functions would run); the handler then sees its copy."""

    def push(self) -> None:
        super().push()
        if SAVED_SESSION in self.environ:    # pushed again (copied context)
            return
        session = ManagedSession(self.session)
        self.environ[SAVED_SESSION] = session
        if hasattr(self, '_session'):   # Flask >= 3.1.3: read-only property
            self._session = session
        else:
            self.session = session

    @property
    def environ(self) -> dict:
        return self.request.environ


#: key of the connection's context template in its environ (see
#: ContextTemplate)
TEMPLATE = 'flask_socketio.context'


class ContextTemplate:
    """What every handler context of one connection shares, taken from
    one that Flask built: the same environ gives the same request fields
    and the same URL adapter, so later events copy them instead of parsing
    the environ and binding the URL map again (a third of a round trip's
    CPU otherwise).  Each event still gets its own request object and
    context: ``sid``, ``event``, ``view_args``, cached properties, ``g``
    and teardown are per event as on Flask-SocketIO.

    Taken only from what is recognised: Flask's own ``create_url_adapter``
    and a request class without an ``__init__`` of its own (which may do
    per-request work an app could notice), and a context whose fields are
    all of a known kind; otherwise (a Flask that changed them) every event
    is built in full, as before.
    """

    __slots__ = ('app', '_shared', '_lists', '_session_key',
                 '_request_class', '_request_fields', '_populate')

    def __init__(self, app, shared, lists, session_key, request):
        self.app = app
        self._shared = shared
        self._lists = lists
        self._session_key = session_key
        self._request_class = type(request)
        self._request_fields = dict(vars(request))
        self._populate = request.environ.get('werkzeug.request') is request

    @classmethod
    def of(cls, ctx: RequestContext):
        """The template of ``ctx`` (just built, not pushed), or None."""
        app, request = ctx.app, ctx.request
        if type(app).create_url_adapter is not \
                flask.Flask.create_url_adapter or \
                type(request).__init__ is not \
                werkzeug.wrappers.Request.__init__ or \
                not hasattr(request, '__dict__'):
            return None
        shared, lists, session_key = {}, [], None
        for key, value in vars(ctx).items():
            if key in ('_session', 'session'):
                session_key = key
            elif key == 'request':
                pass
            elif value is app or key == 'url_adapter' or \
                    value is None or type(value) in (bool, int, str):
                shared[key] = value
            elif type(value) is list and not value:
                lists.append(key)
            else:
                return None  # a field this template cannot share
        if session_key is None:
            return None
        shared['_plain'] = _steps_are_plain(app, request)
        return cls(app, shared, tuple(lists), session_key, request)

    def context(self, session) -> 'EventContext':
        """A new, unpushed context for one event."""
        request = self._request_class.__new__(self._request_class)
        request.__dict__.update(self._request_fields)
        if self._populate:
            request.environ['werkzeug.request'] = request
        ctx = EventContext.__new__(EventContext)
        fields = ctx.__dict__
        fields.update(self._shared)
        fields['request'] = request
        for key in self._lists:
            fields[key] = []
        fields[self._session_key] = session
        return ctx


def handler_context(app, environ: dict, manage_session: bool
                    ) -> RequestContext:
    """The request context a Socket.IO handler runs in."""
    session = None
    if manage_session:
        session = environ.get(SAVED_SESSION)
        if session is None:
            ctx = _FirstEventContext(app, environ)
            environ[TEMPLATE] = ContextTemplate.of(ctx)
            return ctx
    template = environ.get(TEMPLATE)
    if template is not None and template.app is app:
        return template.context(session)
    ctx = EventContext(app, environ, session=session)
    environ[TEMPLATE] = ContextTemplate.of(ctx)
    return ctx


def save_flask_session(app, session) -> None:
    """Persist an unmanaged session after a handler, if it changed."""
    if getattr(session, 'modified', True):
        app.session_interface.save_session(app, session,
                                           app.response_class())
