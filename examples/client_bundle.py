"""The official socket.io browser client for the examples' pages, loaded as
Flask-SocketIO applications load it, with a script tag: served by the app
from npm's socket.io-client in ``examples/node_modules`` when it is there
(``./dev`` runs ``npm ci`` here), else taken from the socket.io CDN."""
from pathlib import Path

from flask import send_file, url_for

BUNDLE = (Path(__file__).resolve().parent / 'node_modules' /
          'socket.io-client' / 'dist' / 'socket.io.min.js')
CDN = 'https://cdn.socket.io/4.8.3/socket.io.min.js'


def serve_client(app):
    """Serve the bundle at ``/js/socket.io.min.js``; templates get its URL
    as ``socketio_client_js``."""
    @app.route('/js/socket.io.min.js')
    def socketio_client_js():
        return send_file(BUNDLE, mimetype='text/javascript')

    @app.context_processor
    def client_url():
        return {'socketio_client_js': url_for('socketio_client_js')
                if BUNDLE.is_file() else CDN}
