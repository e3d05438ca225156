"""Instructions per packet encode/decode, stock against compiled, counted by
callgrind (repeatable where wall time is not on a shared machine).

    python benchmarks/instructions.py        (needs valgrind)

Each count is the difference between a run doing 2,000 operations and one
doing none, divided by 2,000, so start-up and imports cancel out.
"""
import re
import subprocess
import sys

N = 2000
RUN = '''
import sys
sys.path.insert(0, {here!r})
from payloads import PAYLOADS
import socketio.packet as sp
from flask_socketio._speedups import codec_c
impl, op, payload, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
cls = sp.Packet if impl == 'stock' else codec_c.Packet
data = PAYLOADS[payload]
wire = sp.Packet(sp.EVENT, data=data, namespace='/chat').encode()
cls(sp.EVENT, data=data, namespace='/chat').encode()
cls(encoded_packet=wire)
if op == 'encode':
    for _ in range(n):
        cls(sp.EVENT, data=data, namespace='/chat').encode()
else:
    for _ in range(n):
        cls(encoded_packet=wire)
'''


def count(*args):
    here = __file__.rsplit('/', 1)[0] or '.'
    out = subprocess.run(
        ['valgrind', '--tool=callgrind', '--callgrind-out-file=/dev/null',
         sys.executable, '-c', RUN.format(here=here), *map(str, args)],
        capture_output=True, text=True, check=True).stderr
    return int(re.search(r'Collected : (\d+)', out).group(1))


def main():
    print('| operation | stock | compiled | ratio |')
    print('|---|---|---|---|')
    for op in ('encode', 'decode'):
        for payload in ('small', '1kb', 'unicode'):
            per = {impl: (count(impl, op, payload, N)
                          - count(impl, op, payload, 0)) // N
                   for impl in ('stock', 'compiled')}
            print(f'| {op} {payload} | {per["stock"]:,} | '
                  f'{per["compiled"]:,} | '
                  f'{per["stock"] / per["compiled"]:.1f}× |', flush=True)


if __name__ == '__main__':
    main()
