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


def handler_context(app, environ: dict, manage_session: bool
                    ) -> RequestContext:
    """The request context a Socket.IO handler runs in."""
    if not manage_session:
        return EventContext(app, environ)
    session = environ.get(SAVED_SESSION)
    if session is None:
        return _FirstEventContext(app, environ)
    return EventContext(app, environ, session=session)


def save_flask_session(app, session) -> None:
    """Persist an unmanaged session after a handler, if it changed."""
    if getattr(session, 'modified', True):
        app.session_interface.save_session(app, session,
                                           app.response_class())
