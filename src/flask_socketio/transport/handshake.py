"""The HTTP side of a WebSocket: the opening handshake (RFC 6455 section
4.2), and the socket taken over from the WSGI server that accepted it."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import socket
import _socket
import ssl
import sys

_GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'


class HandshakeError(ValueError):
    """The request is not a WebSocket opening handshake we accept."""


def accept_response(environ: dict) -> bytes:
    """The ``101 Switching Protocols`` answer to ``environ``'s upgrade
    request, or HandshakeError."""
    if environ.get('REQUEST_METHOD') != 'GET':
        raise HandshakeError('a WebSocket handshake is a GET')
    if environ.get('HTTP_UPGRADE', '').lower() != 'websocket':
        raise HandshakeError('no "Upgrade: websocket" header')
    tokens = [t.strip().lower()
              for t in environ.get('HTTP_CONNECTION', '').split(',')]
    if 'upgrade' not in tokens:
        raise HandshakeError('no "Connection: Upgrade" header')
    if environ.get('HTTP_SEC_WEBSOCKET_VERSION') != '13':
        raise HandshakeError('unsupported Sec-WebSocket-Version')
    key = environ.get('HTTP_SEC_WEBSOCKET_KEY', '').strip()
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise HandshakeError('Sec-WebSocket-Key is not 16 bytes')
    except binascii.Error:
        raise HandshakeError('Sec-WebSocket-Key is not base64') from None
    accept = base64.b64encode(
        hashlib.sha1(key.encode('ascii') + _GUID).digest())
    return (b'HTTP/1.1 101 Switching Protocols\r\n'
            b'Upgrade: websocket\r\n'
            b'Connection: Upgrade\r\n'
            b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')


def server_socket(environ: dict):
    """``(socket, answered)``: the connection's socket if the WSGI server
    hands it over and it is plain TCP (TLS state cannot be taken along),
    or ``(None, False)``; ``answered`` when the server has already sent
    the handshake's answer itself (gevent-websocket's handler does).

    Werkzeug and gunicorn name the socket in the environ (gunicorn's
    gevent workers as ``gunicorn.sock``), eventlet's server gives it from
    its input; gevent's pywsgi reads the request through a buffered file
    over it.
    """
    handler = getattr(environ.get('wsgi.websocket'), 'handler', None)
    if handler is not None:
        sock, answered = getattr(handler, 'socket', None), True
    else:
        answered = False
        sock = (environ.get('werkzeug.socket') or
                environ.get('gunicorn.socket') or
                environ.get('gunicorn.sock'))
    if sock is None and 'eventlet.input' in environ:
        sock = environ['eventlet.input'].get_socket()
    elif sock is None and environ.get('SERVER_SOFTWARE', '').startswith(
            'gevent'):
        # the request's input, or the file it wraps when it has a body
        rfile = environ.get('wsgi.input')
        rfile = getattr(rfile, 'rfile', rfile)
        sock = getattr(getattr(rfile, 'raw', None), '_sock', None)
    # the servers' own socket classes (green ones included) are not all
    # the standard library's; a TLS socket has a cipher
    if not callable(getattr(sock, 'fileno', None)) or \
            isinstance(sock, ssl.SSLSocket) or hasattr(sock, 'cipher'):
        return None, False
    return sock, answered


def handled(environ: dict) -> None:
    """Tell the WSGI server that the response has been sent: eventlet's
    would write its own into the socket it no longer has (see
    :func:`take_over`) and log the broken pipe."""
    server = sys.modules.get('eventlet.wsgi')
    # python-engineio's middleware puts an eventlet.input of its own in
    # gunicorn's environ
    if server is not None and isinstance(environ.get('eventlet.input'),
                                         server.Input):
        server.WSGI_LOCAL.already_handled = True


def take_over(sock: socket.socket, forget=None) -> socket.socket:
    """Own ``sock``'s connection from now on, whatever the WSGI server then
    does with ``sock``.

    The server will read what it takes for the rest of the request, shut
    the socket down and close it once the application returns.  So the
    connection moves to a new descriptor, and the server's descriptor
    number is pointed at a socket whose peer is already gone: its reads
    see the end of the stream at once, its writes fail with EPIPE (a
    dropped connection, which the servers take quietly), and its shutdown
    and close end nothing of ours.  ``forget(fd)``, called first, drops
    what the server's event loop may still watch of the old descriptor.
    """
    if forget is not None:
        forget(sock.fileno())
    # the C socket: non-blocking calls on it never yield to a green hub
    ours = _socket.socket(sock.family, sock.type, sock.proto,
                          fileno=os.dup(sock.fileno()))
    decoy, peer = socket.socketpair()
    peer.close()
    os.dup2(decoy.fileno(), sock.fileno())
    decoy.close()
    return ours
