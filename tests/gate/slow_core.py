"""A pytest plugin that slows the compiled core's packet encoding down, for
the gate's own test (tests/test_bench_gate.py): loaded into the gate's
micro-benchmark run through PYTEST_PLUGINS, it stands for a regression put
into the compiled core."""
import time

from flask_socketio._speedups import codec_c

# Longer than stock's own encode of a 1 KB packet, so that every encode
# ratio falls far below its floor however fast this machine is today (a
# loop counted in iterations was too close to the floor on a fast run).
DELAY = 30e-6


class SlowPacket(codec_c.Packet):
    def encode(self):
        until = time.perf_counter() + DELAY
        while time.perf_counter() < until:
            pass
        return super().encode()


codec_c.Packet = SlowPacket
