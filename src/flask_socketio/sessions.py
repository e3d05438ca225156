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


def _open_flask_session(app, request) -> SessionMixin:
    interface = app.session_interface
    with app.app_context():
        session = interface.open_session(app, request)
        if session is None:
            session = interface.make_null_session(app)
    return session


def handler_context(app, environ: dict, manage_session: bool
                    ) -> RequestContext:
    """The request context a Socket.IO handler runs in."""
    if not manage_session:
        return RequestContext(app, environ)
    session = environ.get(SAVED_SESSION)
    request = app.request_class(environ)
    if session is None:
        session = ManagedSession(_open_flask_session(app, request))
        environ[SAVED_SESSION] = session
    return RequestContext(app, environ, request=request, session=session)


def save_flask_session(app, session) -> None:
    """Persist an unmanaged session after a handler, if it changed."""
    if getattr(session, 'modified', True):
        app.session_interface.save_session(app, session,
                                           app.response_class())
