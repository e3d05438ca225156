"""The hot path of every message: JSON, Socket.IO and Engine.IO codecs.

One source, two builds: this file is the pure-Python implementation, and
``setup.py`` compiles the very same file with Cython as ``codec_c`` (the C
types come from ``codec_c.pxd``), so the two cannot drift.  Keep it plain
Python that Cython can type: no tricks that only work interpreted.

Contract (tests/test_codec.py checks it, compiled against pure against
python-socketio's own classes):

- JSON goes through orjson when the call is the server's compact
  ``dumps(obj, separators=(',', ':'))`` and orjson keeps every value's
  meaning; anything else (other options, ints beyond 64 bits, non-string
  keys, str/int/dict/list subclasses, non-finite floats, lone surrogates)
  goes to the standard library, so whatever encodes on stock encodes here.
  The output is byte-identical to the standard library's (so packets are
  to python-socketio's): what orjson writes as UTF-8 is escaped the way the
  standard library escapes it, and data with a float orjson writes
  differently (below 1e-4, or not finite) goes to the standard library.
  (``uuid.UUID`` and ``enum.Enum``, which the standard library refuses,
  encode as orjson writes them.)
- ``loads`` returns exactly what the standard library returns (integers
  beyond 64 bits stay integers), and raises ``ValueError`` for bad input.
- Bad packets raise ``ValueError``, never anything else.
"""
import base64
import binascii
import json as _std_json
import re
import sys
from json.encoder import encode_basestring_ascii as _std_escape_ascii

import orjson
from engineio import json as _eio_json
from engineio import packet as _eio_packet
from engineio import payload as _eio_payload

try:
    import cython
    COMPILED = cython.compiled  # True in the compiled build
except ImportError:  # Cython is not needed to run the pure module
    COMPILED = False

# Socket.IO packet types
CONNECT = 0
DISCONNECT = 1
EVENT = 2
ACK = 3
CONNECT_ERROR = 4
BINARY_EVENT = 5
BINARY_ACK = 6

_TYPE_TEXT = ('0', '1', '2', '3', '4', '5', '6')

# Engine.IO packet types
EIO_MESSAGE = 4

#: most binary attachments one packet may announce (each is a separate
#: message, so this bounds what a client can make the server wait for)
MAX_ATTACHMENTS = 10000
#: longest ack id accepted, in digits (python-socketio's limit)
MAX_ID_DIGITS = 100
#: longest run of digits orjson is trusted with: longer integers would
#: come back as floats, so such text goes to the standard library
_MAX_SAFE_DIGITS = 18
#: deepest nesting the recursive walks below follow: compiled, they recurse
#: in C with no interpreter check, so they check themselves, well before
#: the interpreted twin would meet the interpreter's own limit
MAX_DEPTH = sys.getrecursionlimit() // 4  # (two frames a level, interpreted)

_OR_OPTIONS = (orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS
               | orjson.OPT_PASSTHROUGH_SUBCLASS)
_COMPACT = (',', ':')
_or_dumps = orjson.dumps
_or_loads = orjson.loads
_JSONDecodeError = orjson.JSONDecodeError
_INF = float('inf')
#: what the standard library escapes in ASCII mode, beyond ASCII controls
_NOT_ASCII = re.compile('[^\\x00-\\x7e]+')
_MAYBE_ODD_FLOAT = 1
_ESCAPES = 2


# -- JSON -------------------------------------------------------------------

def _refuse(obj):
    raise TypeError(f'Type is not JSON serializable: {type(obj).__name__}')


def _too_deep():
    raise RecursionError('maximum nesting depth exceeded')


def has_odd_float(obj, depth=0):
    """Whether ``obj`` holds a float orjson writes unlike the standard
    library: NaN and infinities (orjson: ``null``), and magnitudes below
    1e-4 (orjson: ``0.00001``, ``2.5e-7``; the standard library: ``1e-05``,
    ``2.5e-07``)."""
    if type(obj) is float:
        return obj != obj or obj in (_INF, -_INF) or 0.0 < abs(obj) < 1e-4
    if depth > MAX_DEPTH:
        _too_deep()
    if type(obj) is list or type(obj) is tuple:
        for item in obj:
            if has_odd_float(item, depth + 1):
                return True
    elif type(obj) is dict:
        for item in obj.values():
            if has_odd_float(item, depth + 1):
                return True
    return False


def _ascii_escapes(match):
    # the standard library's own escaping of a run of non-ASCII characters
    # (and DEL), its quotes stripped
    return _std_escape_ascii(match.group())[1:-1]


def _std_dumps(obj):
    return _std_json.dumps(obj, separators=_COMPACT)


def dumps(obj, **kwargs):
    """``json.dumps``, through orjson for the server's compact calls."""
    if len(kwargs) == 1 and kwargs.get('separators') == _COMPACT:
        return dump_compact(obj)
    return _std_json.dumps(obj, **kwargs)


def dump_compact(obj):
    """``json.dumps(obj, separators=(',', ':'))``, through orjson."""
    text = _or_text(obj, _refuse)
    return _std_dumps(obj) if text is None else text


def _or_text(obj, default):
    """orjson's compact text for ``obj``, made byte-identical to the standard
    library's (``ensure_ascii``), or None where the standard library must
    write it (a value orjson refuses, or a float orjson writes otherwise)."""
    try:
        out = _or_dumps(obj, default, _OR_OPTIONS)
    except TypeError:
        return None
    flags = _scan_output(out)
    if flags & _MAYBE_ODD_FLOAT and has_odd_float(obj):
        return None
    if flags & _ESCAPES:
        # such characters are only ever inside strings: escaping them all
        # is escaping the strings
        return _escape_utf8(out)
    return out.decode()


def _scan_output(out):
    """What orjson's output needs: ``_MAYBE_ODD_FLOAT`` if it shows ``null``,
    ``e-`` or ``0.0000`` (an odd float's marks, or a string's: the walk then
    decides), ``_ESCAPES`` if it holds bytes the standard library escapes
    (non-ASCII, DEL)."""
    if not COMPILED:
        # interpreted, the same searches as bytes methods
        return ((_MAYBE_ODD_FLOAT if b'null' in out or b'e-' in out
                 or b'0.0000' in out else 0)
                | (_ESCAPES if not out.isascii() or b'\x7f' in out else 0))
    end = len(out)
    flags = _ESCAPES if not out.isascii() or _find(out, end, b'\x7f', 1) \
        else 0
    if _find(out, end, b'e-', 2) or _find(out, end, b'null', 4) \
            or _find(out, end, b'0.0000', 6):
        flags |= _MAYBE_ODD_FLOAT
    return flags


def _find(data, end, mark, size):
    """Whether ``mark`` (``size`` bytes) is in ``data`` (``end`` bytes):
    memchr() for the mark's second byte (the rarest in JSON of each mark
    searched here), then a comparison.  Compiled build only: C pointers,
    and memchr/memcmp are cimported by codec_c.pxd."""
    second = mark[size > 1]
    pos = size > 1
    while pos < end:
        hit = memchr(data + pos, second, end - pos)  # noqa: F821
        if hit == cython.NULL:
            return False
        pos = cython.cast(cython.p_uchar, hit) - data
        start = pos - (size > 1)
        if start + size <= end and \
                memcmp(data + start, mark, size) == 0:  # noqa: F821
            return True
        pos += 1
    return False


def _escape_utf8(out):
    """``out``, orjson's UTF-8, as text with every character beyond ASCII,
    and DEL, escaped as the standard library's ``ensure_ascii`` does
    (``\\u00e9``; a surrogate pair beyond the BMP)."""
    if not COMPILED:
        return _NOT_ASCII.sub(_ascii_escapes, out.decode())
    src = out  # compiled: the buffers themselves, read and written in C
    end = len(out)
    size = 0
    i = 0
    while i < end:  # orjson writes valid UTF-8: lead bytes give lengths
        c = src[i]
        if c < 0x7f:
            size += 1
            i += 1
        elif c < 0xc0:  # DEL (no character starts with a continuation byte)
            size += 6
            i += 1
        elif c < 0xe0:
            size += 6
            i += 2
        elif c < 0xf0:
            size += 6
            i += 3
        else:
            size += 12
            i += 4
    if i != end:  # a truncated sequence: not orjson's, refuse as decode()
        return out.decode()
    buf = bytearray(size)
    dst = buf
    i = 0
    j = 0
    while i < end:
        c = src[i]
        if c < 0x7f:
            dst[j] = c
            j += 1
            i += 1
            continue
        if c < 0xc0:
            n = c
            i += 1
        elif c < 0xe0:
            n = ((c & 0x1f) << 6) | (src[i + 1] & 0x3f)
            i += 2
        elif c < 0xf0:
            n = (((c & 0x0f) << 12) | ((src[i + 1] & 0x3f) << 6)
                 | (src[i + 2] & 0x3f))
            i += 3
        else:
            n = (((c & 0x07) << 18) | ((src[i + 1] & 0x3f) << 12)
                 | ((src[i + 2] & 0x3f) << 6) | (src[i + 3] & 0x3f)) - 0x10000
            j = _put_escape(dst, j, 0xd800 | (n >> 10))
            n = 0xdc00 | (n & 0x3ff)
            i += 4
        j = _put_escape(dst, j, n)
    return buf.decode('ascii')


def _put_escape(dst, j, n):
    """Write ``\\uXXXX`` (lowercase hex) for ``n`` at ``dst[j]``."""
    hexd = b'0123456789abcdef'
    dst[j] = 92  # backslash
    dst[j + 1] = 117  # u
    dst[j + 2] = hexd[(n >> 12) & 15]
    dst[j + 3] = hexd[(n >> 8) & 15]
    dst[j + 4] = hexd[(n >> 4) & 15]
    dst[j + 5] = hexd[n & 15]
    return j + 6


def long_digit_run(text):
    """Whether ``text`` holds more consecutive digits than orjson parses
    exactly (more than ``_MAX_SAFE_DIGITS``)."""
    # a long enough run covers one of every `step` positions: look only at
    # those, and measure the run around a digit found there
    step = _MAX_SAFE_DIGITS + 1
    end = len(text)
    pos = _MAX_SAFE_DIGITS
    while pos < end:
        if text[pos] in '0123456789':
            lo = pos
            while lo > 0 and text[lo - 1] in '0123456789':
                lo -= 1
            hi = pos + 1
            while hi < end and text[hi] in '0123456789':
                hi += 1
            if hi - lo > _MAX_SAFE_DIGITS:
                return True
            pos = hi + step
        else:
            pos += step
    return False


def loads(text, **kwargs):
    """``json.loads``, through orjson where that gives the same result."""
    if kwargs:
        return _std_json.loads(text, **kwargs)
    return load_text(text)


def load_text(text):
    """``json.loads(text)`` (refusing 100-digit integers, as engineio
    does), through orjson where that gives the same result.

    Interpreted, the scan for long integers would cost more than orjson
    saves, so the pure build goes straight to the standard library.
    """
    if COMPILED and type(text) is str and not long_digit_run(text):
        try:
            return _or_loads(text)
        except _JSONDecodeError:
            pass  # NaN, lone surrogates, deep nesting...: stdlib decides
    try:
        # engineio's loads: the standard library, refusing 100-digit ints
        return _eio_json.loads(text)
    except RecursionError:
        raise ValueError('JSON nested too deeply') from None


# -- Socket.IO packets --------------------------------------------------------

class _Attachments:
    """orjson ``default`` hook that swaps binary values for placeholders,
    so finding and extracting attachments costs no walk of its own."""

    def __init__(self):
        self.items = []

    def __call__(self, obj):
        if type(obj) is bytes or type(obj) is bytearray:
            self.items.append(obj)
            return {'_placeholder': True, 'num': len(self.items) - 1}
        raise TypeError(
            f'Type is not JSON serializable: {type(obj).__name__}')


def _deconstruct(data, attachments: list, depth=0):
    """The standard-library twin of ``_Attachments``, for data orjson
    refuses."""
    if isinstance(data, (bytes, bytearray)):
        attachments.append(data)
        return {'_placeholder': True, 'num': len(attachments) - 1}
    if isinstance(data, (list, tuple)):
        if depth > MAX_DEPTH:
            _too_deep()
        return [_deconstruct(item, attachments, depth + 1) for item in data]
    if isinstance(data, dict):
        if depth > MAX_DEPTH:
            _too_deep()
        return {key: _deconstruct(value, attachments, depth + 1)
                for key, value in data.items()}
    return data


def _dump_payload(data):
    """``data`` as compact JSON text plus its binary attachments."""
    hook = _Attachments()
    text = _or_text(data, hook)
    if text is not None:
        return text, hook.items
    attachments = []
    return _std_dumps(_deconstruct(data, attachments)), attachments


def encode_packet(packet_type, namespace, id, data):
    """A Socket.IO packet as wire text, or ``[text, *attachments]`` when it
    carries binary data (the type then becomes BINARY_EVENT/BINARY_ACK)."""
    if packet_type < CONNECT or packet_type > BINARY_ACK:
        raise ValueError('invalid packet type')
    attachments = None
    body = ''
    if data is not None:
        body, attachments = _dump_payload(data)
    binary = bool(attachments)
    if binary:
        if packet_type == EVENT:
            packet_type = BINARY_EVENT
        elif packet_type == ACK:
            packet_type = BINARY_ACK
        elif packet_type != BINARY_EVENT and packet_type != BINARY_ACK:
            raise ValueError('Packet does not support binary payload.')
    elif packet_type == BINARY_EVENT:
        packet_type = EVENT  # a binary type without attachments is invalid
    elif packet_type == BINARY_ACK:
        packet_type = ACK
    header = _TYPE_TEXT[packet_type]
    if binary:
        header += str(len(attachments)) + '-'
    if namespace is not None and namespace != '/':
        header += namespace + ','
    if id is not None:
        header += str(id)
    if not binary:
        return header + body
    return [header + body, *attachments]


def _is_digit(ch):
    return ch in '0123456789'


def decode_packet(encoded):
    """Parse Socket.IO wire text into ``(packet_type, namespace, id, data,
    attachment_count)``."""
    if type(encoded) is not str:
        raise ValueError('Socket.IO packet must be text')
    text = encoded
    end = len(text)
    if end == 0:
        raise ValueError('empty packet')
    first = text[0]
    if not ('0' <= first <= '6'):
        raise ValueError('invalid packet type')
    packet_type = ord(first) - 48
    pos = 1
    attachment_count = 0

    if packet_type == BINARY_EVENT or packet_type == BINARY_ACK:
        i = pos
        while i < end and _is_digit(text[i]):
            i += 1
        if i == pos or i >= end or text[i] != '-':
            raise ValueError('binary packet without attachment count')
        if i - pos > 5:
            raise ValueError('too many attachments')
        attachment_count = int(text[pos:i])
        if attachment_count > MAX_ATTACHMENTS:
            raise ValueError('too many attachments')
        if attachment_count == 0:
            # nothing would ever complete it: the sender's next message
            # would be taken for an attachment
            raise ValueError('binary packet without attachments')
        pos = i + 1

    namespace = None
    if pos < end and text[pos] == '/':
        i = text.find(',', pos)
        if i < 0:
            i = end
        namespace = text[pos:i]
        pos = i + 1 if i < end else end
        q = namespace.find('?')
        if q >= 0:
            namespace = namespace[:q]

    id = None
    if pos < end and _is_digit(text[pos]):
        i = pos
        while i < end and _is_digit(text[i]):
            i += 1
        if i - pos > MAX_ID_DIGITS:
            raise ValueError('id field is too long')
        id = int(text[pos:i])
        pos = i

    data = None
    if pos < end:
        data = load_text(text[pos:] if pos else text)
    return packet_type, namespace, id, data, attachment_count


def reconstruct(data, attachments: list, depth=0):
    """Put the binary attachments back in place of their placeholders."""
    if depth > MAX_DEPTH:
        raise ValueError('packet nested too deeply')
    if type(data) is list:
        return [reconstruct(item, attachments, depth + 1) for item in data]
    if type(data) is dict:
        if data.get('_placeholder') is True and 'num' in data \
                and len(data) == 2:
            num = data['num']
            if type(num) is not int or not 0 <= num < len(attachments):
                raise ValueError('invalid attachment placeholder')
            return attachments[num]
        return {key: reconstruct(value, attachments, depth + 1)
                for key, value in data.items()}
    return data


# -- broadcast fan-out ------------------------------------------------------

def fan_out(sockets, participants, skip, packets):
    """Queue ``packets`` (a list of Engine.IO packets, encoded once and
    shared) on the socket of every participant, a ``(sid, eio_sid)`` pair,
    whose sid is not in ``skip``; return the eio_sids that had no open
    socket, or None.  ``sockets`` is engineio's dict of them (the compiled
    build takes exactly a dict and a list)."""
    missing = None
    for sid, eio_sid in participants:
        if sid in skip:
            continue
        sock = sockets.get(eio_sid)
        if sock is None or sock.closed:
            if missing is None:
                missing = []
            missing.append(eio_sid)
            continue
        for pkt in packets:
            sock.send(pkt)
    return missing


# -- Engine.IO packets and polling payloads ---------------------------------

def encode_eio(packet_type, data, b64):
    """An Engine.IO packet on the wire: ``str`` for text, ``bytes`` for a
    binary message (``'b'`` + base64 text in a polling payload)."""
    if type(data) is bytes or type(data) is bytearray:
        if packet_type != EIO_MESSAGE:
            raise ValueError('Binary packets can only be of type MESSAGE')
        if b64:
            return 'b' + base64.b64encode(data).decode('ascii')
        return bytes(data)
    if data is None:
        return str(packet_type)
    if type(data) is str:
        return str(packet_type) + data
    if type(data) is dict or type(data) is list:
        return str(packet_type) + dump_compact(data)
    return str(packet_type) + str(data)


def decode_eio(encoded):
    """Parse an Engine.IO packet into ``(packet_type, data, binary)``."""
    if type(encoded) is bytes or type(encoded) is bytearray \
            or type(encoded) is memoryview:
        return EIO_MESSAGE, bytes(encoded), True
    if type(encoded) is not str:
        raise ValueError('Engine.IO packet must be text or bytes')
    text = encoded
    if len(text) == 0:
        raise ValueError('Invalid empty packet received')
    first = text[0]
    if first == 'b':
        try:
            return EIO_MESSAGE, base64.b64decode(text[1:], validate=True), \
                True
        except binascii.Error:
            raise ValueError('invalid base64 packet') from None
    if not ('0' <= first <= '6'):
        raise ValueError('invalid packet type')
    packet_type = ord(first) - 48
    if len(text) == 1:
        return packet_type, '', False
    body = text[1:]
    second = text[1]
    if not _is_digit(second):
        # as python-engineio: a payload that parses as JSON is JSON
        try:
            return packet_type, load_text(body), False
        except ValueError:
            pass
    return packet_type, body, False


def encode_payload(encoded_packets):
    """Join polling packets (already encoded with ``b64=True``)."""
    return '\x1e'.join(encoded_packets)


def decode_payload(payload, max_packets):
    """Split a polling payload into encoded packets, refusing more than
    ``max_packets``."""
    if len(payload) == 0:
        return []
    if payload.count('\x1e') >= max_packets:
        raise ValueError('Too many packets in payload')
    return payload.split('\x1e')


# -- the packet classes the servers use -----------------------------------

class Packet:
    """python-socketio's Socket.IO packet class, on the codec above.

    The same constructor, attributes and methods as ``socketio.packet.Packet``
    (the server's ``serializer`` plug-in), but no walk of the data at
    construction to find binary values: encoding finds them in the same pass
    as the JSON, so ``packet_type`` turns binary only in the encoded text.
    """

    uses_binary_events = True
    #: what client managers read as "the JSON module" (python-socketio's
    #: default; this class's own JSON goes through the functions above)
    json = _eio_json

    def __init__(self, packet_type=EVENT, data=None, namespace=None,
                 id=None, binary=None, encoded_packet=None):
        if binary:
            if packet_type == EVENT:
                packet_type = BINARY_EVENT
            elif packet_type == ACK:
                packet_type = BINARY_ACK
            else:
                raise ValueError('Packet does not support binary payload.')
        self.packet_type = packet_type
        self.data = data
        self.namespace = namespace
        self.id = id
        self.attachments = []
        if encoded_packet is None:
            self.attachment_count = 0
        else:  # decode(), inlined: this is every received packet
            (self.packet_type, self.namespace, self.id, self.data,
             self.attachment_count) = decode_packet(encoded_packet)

    def encode(self):
        """Wire text, or ``[text, *attachments]`` for binary data."""
        return encode_packet(self.packet_type, self.namespace, self.id,
                             self.data)

    def decode(self, encoded_packet):
        """Parse wire text; return how many attachments are to follow."""
        (self.packet_type, self.namespace, self.id, self.data,
         count) = decode_packet(encoded_packet)
        return count

    def add_attachment(self, attachment):
        """Take the next attachment; True once the packet is complete."""
        if self.attachment_count <= len(self.attachments):
            raise ValueError('Unexpected binary attachment')
        self.attachments.append(attachment)
        if self.attachment_count == len(self.attachments):
            self.data = reconstruct(self.data, self.attachments)
            return True
        return False

    @classmethod
    def reconstruct_binary(cls, data, attachments):
        return reconstruct(data, list(attachments))

    @classmethod
    def deconstruct_binary(cls, data):
        attachments = []
        return _deconstruct(data, attachments), attachments

    @classmethod
    def data_is_binary(cls, data):
        return bool(_dump_payload(data)[1])

    def _to_dict(self):
        d = {'type': self.packet_type, 'data': self.data,
             'nsp': self.namespace}
        if self.id is not None:
            d['id'] = self.id
        return d


class EioPacket(_eio_packet.Packet):
    """python-engineio's packet, encoded and decoded above."""

    def __init__(self, packet_type=_eio_packet.NOOP, data=None,
                 encoded_packet=None):
        self.packet_type = packet_type
        self.data = data
        self.encode_cache = None
        self.binary = type(data) is bytes or type(data) is bytearray
        if self.binary and packet_type != EIO_MESSAGE:
            raise ValueError('Binary packets can only be of type MESSAGE')
        if encoded_packet is not None:
            self.decode(encoded_packet)

    def encode(self, b64=False):
        # python-engineio caches the first encoding whatever ``b64`` asks
        # for, which breaks a binary packet shared by a WebSocket and a
        # polling client; only text, the same on both, is cached here
        if self.encode_cache is not None:
            return self.encode_cache
        encoded = encode_eio(self.packet_type, self.data, b64)
        if not self.binary:
            self.encode_cache = encoded
        return encoded

    def decode(self, encoded_packet):
        self.packet_type, self.data, self.binary = decode_eio(encoded_packet)


class EioPayload(_eio_payload.Payload):
    """python-engineio's polling payload, encoded and decoded above."""

    def encode(self, jsonp_index=None):
        text = encode_payload([pkt.encode(b64=True) for pkt in self.packets])
        if jsonp_index is not None:
            text = ('___eio[' + str(jsonp_index) + ']("'
                    + text.replace('"', '\\"') + '");')
        return text

    def decode(self, encoded_payload):
        if encoded_payload.startswith('d='):
            # JSONP form post: let the base class unwrap it
            return super().decode(encoded_payload)
        self.packets = [
            EioPacket(encoded_packet=text) for text in
            decode_payload(encoded_payload, self.max_decode_packets)]
