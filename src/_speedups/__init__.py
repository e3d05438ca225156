"""The compiled core, or its pure-Python twin.

``codec_c`` is ``codec_py.py`` compiled by Cython (see setup.py), and
``websocket_c`` is ``websocket_py.py`` (RFC 6455 frames, for the transport
to come).  The compiled modules are used when they import, unless the
environment variable ``FLASK_SOCKETIO_NO_EXTENSIONS`` is set to a non-empty
value, in which case (or when the build was skipped) the pure modules
serve instead.  Both behave identically; ``implementation`` says which
one is active.
"""
import os

NO_EXTENSIONS = bool(os.environ.get('FLASK_SOCKETIO_NO_EXTENSIONS'))

codec = websocket = None
if not NO_EXTENSIONS:
    try:
        from . import codec_c as codec
        from . import websocket_c as websocket
    except ImportError:
        codec = websocket = None
if codec is None:
    from . import codec_py as codec
    from . import websocket_py as websocket  # noqa: F401

#: ``'compiled'`` or ``'pure'``
implementation = 'compiled' if codec.__name__.endswith('_c') else 'pure'
COMPILED = implementation == 'compiled'

Packet = codec.Packet
EioPacket = codec.EioPacket
EioPayload = codec.EioPayload
fan_out = codec.fan_out
