"""JSON through orjson, usable wherever a ``json`` module is expected
(``dumps``/``loads`` with the standard library's signatures and results;
see codec_py.py for the exact contract)."""
from . import codec as _codec

dumps = _codec.dumps
loads = _codec.loads

__all__ = ['dumps', 'loads']
