# C types for websocket_py.py when Cython compiles it as websocket_c
# (pure-Python mode: the .py stays the one source; this file only adds
# types).  setup.py stages both as flask_socketio/_speedups/websocket_c.*.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy


cdef class FrameReader:
    cdef public Py_ssize_t max_message_size
    cdef public bint closed
    cdef bytearray _buffer
    cdef object _error
    cdef int _opcode
    cdef bytearray _data
    cdef Py_ssize_t _size
    cdef object _text

    @cython.locals(pos=Py_ssize_t)
    cpdef list feed(self, object data)

    @cython.locals(buf=bytearray, end=Py_ssize_t, pos=Py_ssize_t,
                   first=int, second=int, fin=int, opcode=int,
                   length=Py_ssize_t, header=Py_ssize_t)
    cdef Py_ssize_t _parse(self, list events) except -1

    cdef object _check_frame(self, int fin, int opcode, Py_ssize_t length)

    cdef object _frame(self, int fin, int opcode, bytes payload,
                       list events)

    @cython.locals(data=bytes)
    cdef object _fragment(self, int fin, int opcode, bytes payload,
                          list events)


cdef str _utf8(bytes payload)

@cython.locals(code=int)
cdef tuple _close_payload(bytes payload)

@cython.locals(out=bytes, dst=cython.p_uchar, src=cython.p_uchar,
               base=cython.p_uchar, keyp=cython.p_uchar,
               wordp=cython.p_uchar, i=Py_ssize_t, word=cython.ulonglong,
               chunk=cython.ulonglong)
cdef bytes _unmask(bytearray buf, Py_ssize_t start, Py_ssize_t length,
                   Py_ssize_t key_at)
