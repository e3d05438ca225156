"""A pytest plugin that slows the compiled core's packet encoding down, for
the gate's own test (tests/test_bench_gate.py): loaded into the gate's
micro-benchmark run through PYTEST_PLUGINS, it stands for a regression put
into the compiled core."""
from flask_socketio._speedups import codec_c


class SlowPacket(codec_c.Packet):
    def encode(self):
        for _ in range(300):  # a few µs: the ratio to stock falls below 1
            pass
        return super().encode()


codec_c.Packet = SlowPacket
