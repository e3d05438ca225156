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

# a chat message beyond ASCII (accents, CJK, emoji): the standard library
# escapes it as \uXXXX on the wire, and so must the codec
UNICODE = ['chat', {'user': 'Zoë', 'room': '大厅',
                    'text': 'Ça va? 你好，世界！ 😀👍 ' * 4}]

LIST100 = ['ticks', [i if i % 2 else f'item-{i}' for i in range(100)]]

BINARY64K = ['upload', {'name': 'blob.bin', 'data': os.urandom(65536)}]

PAYLOADS = {'small': SMALL, '1kb': KB, 'list100': LIST100,
            'unicode': UNICODE, 'bin64k': BINARY64K}
