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

import flask
import werkzeug.wrappers
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

#: key of the managed session in the connection's environ (applications'
#: tests written for Flask-SocketIO look it up there)
SAVED_SESSION = 'saved_session'


class ManagedSession(dict, SessionMixin):
    """A plain dict with the attributes Flask expects of a session."""


#: key of the connection's URL match in its environ (see EventContext)
MATCHED = 'flask_socketio.matched'


class EventContext(RequestContext):
    """A handler's request context: a connection's URL is matched against
    the app's routes once, at its first event, not at every one (Flask's
    own hook for it, ``match_request``); each event gets its own copy of
    ``view_args``."""

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
