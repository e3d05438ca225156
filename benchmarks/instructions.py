"""Instructions per packet encode/decode, stock against compiled, counted by
callgrind (repeatable where wall time is not on a shared machine).

    python benchmarks/instructions.py        (needs valgrind)

Each count is the difference between a run doing 2,000 operations and one
doing none, divided by 2,000, so start-up and imports cancel out.  The gate
(gate.py) counts a few of them too.
"""
import os
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
        capture_output=True, text=True, check=True,
        env=dict(os.environ, PYTHONHASHSEED='0')).stderr  # repeatable
    return int(re.search(r'Collected : (\d+)', out).group(1))


def per_operation(cases):
    """Instructions of one operation, for each ``(impl, op, payload)`` of
    ``cases`` (impl: stock or compiled; op: encode or decode), as a dict.
    The runs are independent, so they share the cores (counts do not
    depend on the load); a run of no operations is each impl and
    payload's baseline."""
    import concurrent.futures
    runs = {case: (*case, N) for case in cases}
    for impl, _, payload in cases:
        runs[(impl, None, payload)] = (impl, 'encode', payload, 0)
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        counts = dict(zip(runs, pool.map(lambda a: count(*a),
                                         runs.values())))
    return {(impl, op, payload): (counts[(impl, op, payload)]
                                  - counts[(impl, None, payload)]) // N
            for impl, op, payload in cases}


def main():
    cases = [(impl, op, payload) for op in ('encode', 'decode')
             for payload in ('small', '1kb', 'unicode')
             for impl in ('stock', 'compiled')]
    per = per_operation(cases)
    print('| operation | stock | compiled | ratio |')
    print('|---|---|---|---|')
    for op in ('encode', 'decode'):
        for payload in ('small', '1kb', 'unicode'):
            stock = per[('stock', op, payload)]
            compiled = per[('compiled', op, payload)]
            print(f'| {op} {payload} | {stock:,} | {compiled:,} | '
                  f'{stock / compiled:.1f}× |')


if __name__ == '__main__':
    main()
