"""Typical event payloads (Socket.IO event data: name, then arguments)."""
import os

SMALL = ['chat', {'user': 'ann', 'room': 'lobby', 'text': 'hello there',
                  'n': 42}]

# about 1 KB of JSON, mixed like an application's state update
KB = ['update', {
    'id': 918273, 'ok': True, 'owner': {'name': 'Ann Example', 'id': 17},
    'items': [{'sku': f'SKU-{i:04d}', 'qty': i, 'price': 10.5 + i,
               'tags': ['blue', 'sale']} for i in range(12)],
}]

LIST100 = ['ticks', [i if i % 2 else f'item-{i}' for i in range(100)]]

BINARY64K = ['upload', {'name': 'blob.bin', 'data': os.urandom(65536)}]

PAYLOADS = {'small': SMALL, '1kb': KB, 'list100': LIST100,
            'bin64k': BINARY64K}
