"""The WSGI middleware in front of the Flask application."""
from __future__ import annotations

import socketio


class SocketIOMiddleware(socketio.WSGIApp):
    """Routes the Socket.IO endpoint to the server and everything else to
    the Flask app, recording the app in the environ so handlers find it
    (one server may serve several apps)."""

    def __init__(self, server, app, socketio_path='socket.io'):
        self.flask_app = app
        super().__init__(server, app.wsgi_app, socketio_path=socketio_path)

    def __call__(self, environ, start_response):
        environ = environ.copy()
        environ['flask.app'] = self.flask_app
        return super().__call__(environ, start_response)
