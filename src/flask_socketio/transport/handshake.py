"""The HTTP side of a WebSocket: the opening handshake (RFC 6455 section
4.2), and the socket taken over from the WSGI server that accepted it."""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import socket
import ssl

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
    """The connection's socket if the WSGI server hands it over (Werkzeug's
    ``werkzeug.socket``, gunicorn's ``gunicorn.socket``) and it is plain
    TCP; None otherwise (TLS state cannot be taken along)."""
    sock = environ.get('werkzeug.socket') or environ.get('gunicorn.socket')
    if not isinstance(sock, socket.socket) or isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def take_over(sock: socket.socket) -> socket.socket:
    """Own ``sock``'s connection from now on, whatever the WSGI server then
    does with ``sock``.

    The server will read what it takes for the rest of the request, shut
    the socket down and close it once the application returns.  So the
    connection moves to a new descriptor, and the server's descriptor
    number is pointed at a socket whose peer is already gone: its reads
    see the end of the stream at once, its writes fail with EPIPE (a
    dropped connection, which the servers take quietly), and its shutdown
    and close end nothing of ours.
    """
    ours = socket.socket(sock.family, sock.type, sock.proto,
                         fileno=os.dup(sock.fileno()))
    decoy, peer = socket.socketpair()
    peer.close()
    os.dup2(decoy.fileno(), sock.fileno())
    decoy.close()
    return ours
