"""The codec, compiled against pure against python-socketio/engineio.

Contract (see src/_speedups/codec_py.py): the compiled and pure builds give
the same bytes and the same exceptions; both decode to what python-socketio
decodes; the encoding is byte-identical to python-socketio's; bad input
raises ValueError and nothing else.
"""
import json
import math
import os
import re

import engineio.packet as ep
import engineio.payload as epl
import pytest
import socketio.packet as sp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import require
from flask_socketio._speedups import codec_py

try:
    from flask_socketio._speedups import codec_c
except ImportError:  # a pure install: the compiled half is checked below
    codec_c = None

# CODEC_EXAMPLES=5000 for a deeper search than the default run
SETTINGS = settings(max_examples=int(os.environ.get("CODEC_EXAMPLES", 300)), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def builds():
    require(codec_c is not None, 'the compiled core is not built')
    return codec_py, codec_c


# -- data ---------------------------------------------------------------------

scalars = (st.none() | st.booleans()
           | st.integers(min_value=-2**63, max_value=2**64 - 1)
           | st.integers().filter(lambda i: abs(i) < 10**90)
           | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=20))
binary = st.binary(max_size=40) | st.binary(max_size=8).map(bytearray)
json_data = st.recursive(
    scalars, lambda kids: st.lists(kids, max_size=5)
    | st.dictionaries(st.text(max_size=8), kids, max_size=5), max_leaves=25)
any_data = st.recursive(
    scalars | binary, lambda kids: st.lists(kids, max_size=5)
    | st.dictionaries(st.text(max_size=8), kids, max_size=5), max_leaves=25)
# what events and acks carry: a list (an event's starts with its name)
event_data = st.tuples(st.text(max_size=10), st.lists(any_data, max_size=4)
                       ).map(lambda t: [t[0], *t[1]])
namespaces = st.none() | st.just('/') | st.from_regex(r'/[a-z0-9_/-]{1,12}',
                                                      fullmatch=True)
ids = st.none() | st.integers(min_value=0, max_value=2**70)


def stock_decode(encoded):
    """What python-socketio (i.e. every Python peer) reads from ``encoded``."""
    if isinstance(encoded, list):
        pkt = sp.Packet(encoded_packet=encoded[0])
        for attachment in encoded[1:]:
            pkt.add_attachment(attachment)
    else:
        pkt = sp.Packet(encoded_packet=encoded)
    return pkt.packet_type, pkt.namespace or None, pkt.id, pkt.data


def our_decode(codec, encoded):
    first = encoded[0] if isinstance(encoded, list) else encoded
    pkt = codec.Packet(encoded_packet=first)
    if isinstance(encoded, list):
        done = [pkt.add_attachment(a) for a in encoded[1:]]
        assert done[-1] is True if done else pkt.attachment_count == 0
    return pkt.packet_type, pkt.namespace or None, pkt.id, pkt.data


def as_stock_sees(data):
    """Attachments come back as bytes; tuples as lists."""
    if isinstance(data, bytearray):
        return bytes(data)
    if isinstance(data, (list, tuple)):
        return [as_stock_sees(x) for x in data]
    if isinstance(data, dict):
        return {k: as_stock_sees(v) for k, v in data.items()}
    return data


# -- Socket.IO packets --------------------------------------------------------

@SETTINGS
@given(st.sampled_from([sp.EVENT, sp.ACK]), namespaces, ids, event_data)
@example(sp.EVENT, '/chat', 7, ['ev', {'a': [1, b'\x00\xff']}, b'x'])
@example(sp.EVENT, None, None, ['caf\u00e9', 1e16, -0.0])
@example(sp.EVENT, '/', 1, ['\U0001f600\x7f\u2028', {'k\u00e9': [1e-05, 2.5e-07]}])
@example(sp.EVENT, None, None, ['one-off 0.00001', float('-inf'), 1e-320])
def test_event_packets_compiled_pure_and_stock_agree(ptype, ns, pid, data):
    pure, compiled = builds()
    ours = pure.Packet(ptype, data=data, namespace=ns, id=pid).encode()
    assert compiled.Packet(ptype, data=data, namespace=ns,
                           id=pid).encode() == ours
    stock = sp.Packet(ptype, data=data, namespace=ns, id=pid).encode()
    assert ours == stock  # byte for byte
    expected = stock_decode(stock)
    assert expected[3] == as_stock_sees(data)
    # both builds read both encodings back to the same packet
    for build in (pure, compiled):
        assert our_decode(build, ours) == expected
        assert our_decode(build, stock) == expected


@SETTINGS
@given(st.sampled_from([sp.CONNECT, sp.DISCONNECT, sp.CONNECT_ERROR]),
       namespaces, st.none() | st.dictionaries(st.text(max_size=8), json_data,
                                               max_size=4))
def test_control_packets(ptype, ns, data):
    pure, compiled = builds()
    ours = pure.Packet(ptype, data=data, namespace=ns).encode()
    assert compiled.Packet(ptype, data=data, namespace=ns).encode() == ours
    stock = sp.Packet(ptype, data=data, namespace=ns).encode()
    assert ours == stock
    assert our_decode(compiled, ours) == stock_decode(stock)


def test_binary_on_a_control_packet_is_refused(codec):
    with pytest.raises(ValueError):
        codec.Packet(sp.CONNECT, data={'x': b'1'}).encode()


def test_attachment_numbering_and_reconstruction(codec):
    data = ['up', {'a': b'1', 'b': [bytearray(b'2'), {'c': b'3'}]}, b'4']
    encoded = codec.Packet(sp.EVENT, data=data, namespace='/f', id=3).encode()
    assert encoded[0] == ('54-/f,3["up",{"a":{"_placeholder":true,"num":0},'
                          '"b":[{"_placeholder":true,"num":1},{"c":'
                          '{"_placeholder":true,"num":2}}]},'
                          '{"_placeholder":true,"num":3}]')
    assert encoded[1:] == [b'1', bytearray(b'2'), b'3', b'4']
    assert our_decode(codec, encoded) == (
        sp.BINARY_EVENT, '/f', 3,
        ['up', {'a': b'1', 'b': [b'2', {'c': b'3'}]}, b'4'])


def test_nonfinite_floats_keep_their_meaning(codec):
    data = ['ev', float('nan'), [float('inf')], {'x': float('-inf')}, None]
    ours = codec.Packet(sp.EVENT, data=data).encode()
    assert ours == sp.Packet(sp.EVENT, data=data).encode()
    back = codec.Packet(encoded_packet=ours).data
    assert math.isnan(back[1]) and back[2] == [math.inf]
    assert back[3] == {'x': -math.inf} and back[4] is None


@pytest.mark.parametrize('data', [
    ['big', 2**64, -2**63 - 1, 10**40],         # beyond 64 bits
    ['keys', {1: 'a', 2.5: 'b', None: 'c'}],    # non-string keys
    ['lone', '\ud800x'],                        # lone surrogate
    ['sub', type('S', (str,), {})('s'), type('D', (dict,), {})(a=1)],
])
def test_values_orjson_refuses_encode_as_stock(codec, data):
    assert codec.Packet(sp.EVENT, data=data).encode() == \
        sp.Packet(sp.EVENT, data=data).encode()


def test_unserializable_data_raises_type_error(codec):
    with pytest.raises(TypeError):
        codec.Packet(sp.EVENT, data=['x', object()]).encode()
    with pytest.raises(TypeError):
        codec.Packet(sp.EVENT, data=['x', {'b': b'1', 'o': object()}]).encode()


@SETTINGS
@given(json_data | st.floats() | st.text())
@example(['\u00e9\u4e2d\U0001f600\x7f\x00\u2028"\\', {'\u00e9': 1e-05}])
@example([1e-4, 9.99e-5, -2.5e-07, 5e-324, 1e16, 1e-300, 'e-0.0000'])
def test_json_encoding_is_byte_identical_to_the_standard_library(data):
    want = json.dumps(data, separators=(',', ':'))
    for build in builds():
        assert build.dump_compact(data) == want
        assert build.dumps(data, separators=(',', ':')) == want


def test_json_decoding_matches_the_standard_library(codec):
    for text in ['[123456789012345678901234567890]', '[NaN,Infinity]',
                 '["\\ud800"]', '{"a":1,"a":2}', '[1e400]', '[-0]',
                 '  [1.5] ', '[' * 20 + ']' * 20]:
        expected = json.loads(text)
        got = codec.loads(text)
        assert json.dumps(got) == json.dumps(expected), text
    with pytest.raises(ValueError):
        codec.loads('[' + '1' * 101 + ']')  # engineio's integer limit


@SETTINGS
@given(st.text(alphabet='0123456789a,', max_size=80))
@example('1' * 19)
@example('x' + '1' * 18 + 'y' + '2' * 18)
def test_long_digit_scan(text):
    expected = re.search('[0-9]{%d}' % (codec_py._MAX_SAFE_DIGITS + 1),
                         text) is not None
    for build in builds():
        assert build.long_digit_run(text) is expected


# -- hostile input --------------------------------------------------------------

HOSTILE = [
    '', '7', 'x', '2[', '2["a"', '5', '5-[]', '59999999-["a"]', '50-["a"]',
    '5' + '9' * 20 + '-[]', '2' + '9' * 101 + '["a"]', '2/ns,' + '[' * 5000,
    '2["a",' + '{"x":' * 3000 + '1' + '}' * 3000 + ']', '2\x00', '2["\udcff"]',
    '51-["a",{"_placeholder":true,"num":"0"}]', b'2["bytes"]', b'\xff\xfe',
    '3/x,12', '2/ns?x=1,["e"]', '21["a"]', '2/' * 50,
]


def _outcome(build, text):
    try:
        pkt = build.Packet(encoded_packet=text)
        if pkt.attachment_count:
            pkt.add_attachment(b'blob')
        return ('ok', pkt.packet_type, pkt.namespace, pkt.id,
                json.dumps(pkt.data, default=repr))
    except ValueError:
        return ('ValueError',)
    except Exception as exc:  # anything else is a bug
        return ('unexpected', type(exc).__name__, str(exc))


@pytest.mark.parametrize('text', HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_packets_fail_cleanly_and_alike(text):
    pure, compiled = builds()
    outcome = _outcome(pure, text)
    assert outcome[0] in ('ok', 'ValueError'), outcome
    assert _outcome(compiled, text) == outcome


@SETTINGS
@given(st.text(max_size=60) | st.binary(max_size=30))
@example('5' + '0' * 5 + '-["a"]')
def test_random_packets_fail_cleanly_and_alike(text):
    pure, compiled = builds()
    outcome = _outcome(pure, text)
    assert outcome[0] in ('ok', 'ValueError'), outcome
    assert _outcome(compiled, text) == outcome


def test_attachment_count_is_bounded(codec):
    with pytest.raises(ValueError):
        codec.Packet(encoded_packet=f'5{codec.MAX_ATTACHMENTS + 1}-["a"]')
    pkt = codec.Packet(encoded_packet='51-["a",{"_placeholder":true,"num":0}]')
    assert pkt.add_attachment(b'z') is True
    with pytest.raises(ValueError):
        pkt.add_attachment(b'extra')


def test_placeholder_out_of_range_is_refused(codec):
    pkt = codec.Packet(encoded_packet='51-["a",{"_placeholder":true,"num":5}]')
    with pytest.raises(ValueError):
        pkt.add_attachment(b'z')


# -- Engine.IO packets and payloads ---------------------------------------------

eio_text = st.text(max_size=30)


@SETTINGS
@given(st.sampled_from(range(7)), st.none() | eio_text
       | st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
def test_eio_packets_match_engineio(ptype, data):
    pure, compiled = builds()
    stock = ep.Packet(ptype, data=data)
    for build in (pure, compiled):
        for b64 in (False, True):
            mine = build.EioPacket(ptype, data=data).encode(b64=b64)
            assert mine == ep.Packet(ptype, data=data).encode(b64=b64)
    if data is not None:
        wire = stock.encode()
        want = ep.Packet(encoded_packet=wire)
        for build in (pure, compiled):
            got = build.EioPacket(encoded_packet=wire)
            assert (got.packet_type, got.data, got.binary) == \
                (want.packet_type, want.data, want.binary)


@SETTINGS
@given(st.binary(max_size=50) | st.binary(max_size=20).map(bytearray))
def test_eio_binary_packets_match_engineio(blob):
    pure, compiled = builds()
    for b64 in (False, True):
        stock = ep.Packet(ep.MESSAGE, data=blob).encode(b64=b64)
        for build in (pure, compiled):
            assert build.EioPacket(ep.MESSAGE, data=blob).encode(b64=b64) \
                == stock
            got = build.EioPacket(encoded_packet=stock)
            assert (got.packet_type, got.data, got.binary) == \
                (ep.MESSAGE, bytes(blob), True)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from([2, 3, 4]), eio_text.filter(
    lambda t: '\x1e' not in t)) | st.tuples(st.just(4), st.binary(
        max_size=10)), min_size=1, max_size=8))
def test_polling_payloads_match_engineio(items):
    pure, compiled = builds()
    stock_pkts = [ep.Packet(t, data=d) for t, d in items]
    stock = epl.Payload(packets=stock_pkts).encode()
    for build in (pure, compiled):
        mine = build.EioPayload(
            packets=[build.EioPacket(t, data=d) for t, d in items]).encode()
        assert mine == stock
        back = build.EioPayload(encoded_payload=stock).packets
        want = epl.Payload(encoded_payload=stock).packets
        assert [(p.packet_type, p.data, p.binary) for p in back] == \
            [(p.packet_type, p.data, p.binary) for p in want]


def test_polling_payload_packet_limit(codec):
    text = '\x1e'.join(['42["a"]'] * 17)
    with pytest.raises(ValueError):
        codec.EioPayload(encoded_payload=text)
    assert len(codec.EioPayload(
        encoded_payload='\x1e'.join(['42["a"]'] * 16)).packets) == 16


@pytest.mark.parametrize('wire', ['', 'b!!notbase64', '9x', '\x1e'])
def test_bad_eio_packets_raise_value_error(codec, wire):
    with pytest.raises(ValueError):
        codec.EioPacket(encoded_packet=wire)


def test_binary_type_without_attachments_is_never_sent_or_accepted(codec):
    assert codec.Packet(sp.BINARY_EVENT, data=['a']).encode() == '2["a"]'
    assert codec.Packet(sp.BINARY_ACK, data=[1], id=4).encode() == '34[1]'
    with pytest.raises(ValueError):
        codec.Packet(encoded_packet='50-["a"]')


def _nested(depth, leaf):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize('leaf', [1, float('nan'), b'x', 2**70])
def test_absurd_nesting_raises_recursion_error_in_both_builds(leaf):
    # compiled, the walks recurse in C: they must stop themselves
    deep = ['ev', _nested(codec_py.MAX_DEPTH * 3, leaf)]
    for build in builds():
        with pytest.raises(RecursionError):
            build.Packet(sp.EVENT, data=deep).encode()
        with pytest.raises(RecursionError):
            build.has_odd_float(deep)
    for build in builds():
        with pytest.raises(ValueError):
            build.reconstruct(_nested(codec_py.MAX_DEPTH * 3, 0), [])


@pytest.mark.parametrize('packet_type', [2**80, -1, 7, None, '2', 2.0])
def test_odd_packet_types_fail_alike(packet_type):
    outcomes = []
    for build in builds():
        try:
            outcomes.append(build.encode_packet(packet_type, None, None,
                                                ['a']))
        except Exception as exc:
            outcomes.append(type(exc))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0] in (ValueError, TypeError), outcomes


def test_binary_eio_packet_encodes_per_transport(codec):
    pkt = codec.EioPacket(ep.MESSAGE, data=b'\x01\x02')
    assert pkt.encode(b64=False) == b'\x01\x02'
    assert pkt.encode(b64=True) == 'bAQI='
