"""Encode and decode of typical event packets: stock python-socketio
(``socketio.packet.Packet`` on the standard json module) against this
project's pure-Python and compiled codecs, in the same run."""
import json
import marshal

import orjson
import pytest
import socketio.packet as sp

from flask_socketio._speedups import codec_py
from payloads import PAYLOADS

try:
    from flask_socketio._speedups import codec_c
except ImportError:
    codec_c = None

IMPLEMENTATIONS = {'stock': sp.Packet, 'pure': codec_py.Packet}
if codec_c is not None:
    IMPLEMENTATIONS['compiled'] = codec_c.Packet


def _wire(data):
    return sp.Packet(sp.EVENT, data=data, namespace='/chat').encode()


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('payload', PAYLOADS)
def test_encode(benchmark, payload, impl):
    benchmark.group = f'encode {payload}'
    cls, data = IMPLEMENTATIONS[impl], PAYLOADS[payload]
    out = benchmark(lambda: cls(sp.EVENT, data=data, namespace='/chat')
                    .encode())
    assert sp.Packet(encoded_packet=out if isinstance(out, str)
                     else out[0]).namespace == '/chat'


@pytest.mark.parametrize('impl', IMPLEMENTATIONS)
@pytest.mark.parametrize('payload', PAYLOADS)
def test_decode(benchmark, payload, impl):
    benchmark.group = f'decode {payload}'
    cls, wire = IMPLEMENTATIONS[impl], _wire(PAYLOADS[payload])
    text, attachments = (wire, []) if isinstance(wire, str) \
        else (wire[0], wire[1:])

    def decode():
        pkt = cls(encoded_packet=text)
        for attachment in attachments:
            pkt.add_attachment(attachment)
        return pkt
    pkt = benchmark(decode)
    assert pkt.data == PAYLOADS[payload]


@pytest.mark.parametrize('impl', ['orjson', 'floor'])
@pytest.mark.parametrize('payload', ['small', '1kb', 'list100'])
def test_decode_bounds(benchmark, payload, impl):
    """What bounds a decoder: ``orjson`` is orjson's own parse of the
    packet's JSON (what the compiled codec calls); ``floor`` builds the same
    objects with no text to parse at all (``marshal.loads``, CPython's
    cheapest deserializer, of the objects the standard library decodes, so
    no string is shared) -- a practical ceiling for any decoder."""
    benchmark.group = f'decode {payload}'
    text = json.dumps(PAYLOADS[payload], separators=(',', ':'))
    if impl == 'orjson':
        assert benchmark(orjson.loads, text) == PAYLOADS[payload]
    else:
        blob = marshal.dumps(json.loads(text))
        assert benchmark(marshal.loads, blob) == PAYLOADS[payload]


JSON = {'stdlib': (lambda o: json.dumps(o, separators=(',', ':')),
                   json.loads),
        'pure': (codec_py.dump_compact, codec_py.loads)}
if codec_c is not None:
    JSON['compiled'] = (codec_c.dump_compact, codec_c.loads)


@pytest.mark.parametrize('impl', JSON)
@pytest.mark.parametrize('payload', ['small', '1kb', 'list100'])
def test_json_dumps(benchmark, payload, impl):
    benchmark.group = f'json.dumps {payload}'
    assert json.loads(benchmark(JSON[impl][0], PAYLOADS[payload])) == \
        PAYLOADS[payload]


@pytest.mark.parametrize('impl', JSON)
@pytest.mark.parametrize('payload', ['small', '1kb', 'list100'])
def test_json_loads(benchmark, payload, impl):
    benchmark.group = f'json.loads {payload}'
    text = json.dumps(PAYLOADS[payload], separators=(',', ':'))
    assert benchmark(JSON[impl][1], text) == PAYLOADS[payload]
