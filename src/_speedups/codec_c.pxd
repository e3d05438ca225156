# C types for codec_py.py when Cython compiles it as codec_c (pure-Python
# mode: the .py stays the one source; this file only adds types).  setup.py
# stages both as flask_socketio/_speedups/codec_c.{py,pxd}, where Cython
# looks for this file.
cimport cython
from libc.string cimport memchr, memcmp

cpdef bint has_odd_float(object obj, Py_ssize_t depth=*)

@cython.locals(step=Py_ssize_t, end=Py_ssize_t, pos=Py_ssize_t,
               lo=Py_ssize_t, hi=Py_ssize_t)
cpdef bint long_digit_run(str text)

cpdef object dump_compact(object obj)

cpdef object _or_text(object obj, object default)

@cython.locals(end=Py_ssize_t, flags=int)
cpdef int _scan_output(bytes out)

@cython.locals(src=cython.p_uchar, dst=cython.p_uchar, end=Py_ssize_t,
               size=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t, c=cython.uchar,
               n=cython.uint)
cdef str _escape_utf8(bytes out)

@cython.locals(hexd=cython.p_char)
cdef Py_ssize_t _put_escape(unsigned char *dst, Py_ssize_t j, unsigned int n)

@cython.locals(second=cython.uchar, pos=Py_ssize_t, start=Py_ssize_t,
               hit=cython.p_void)
cdef bint _find(const unsigned char *data, Py_ssize_t end, const char *mark,
                Py_ssize_t size)

cpdef object load_text(object text)

cdef bint _is_digit(Py_UCS4 ch)

@cython.locals(hook=_Attachments)
cpdef tuple _dump_payload(object data)

@cython.locals(binary=bint)
cpdef object encode_packet(object packet_type, object namespace, object id,
                           object data)

@cython.locals(text=str, end=Py_ssize_t, pos=Py_ssize_t, i=Py_ssize_t,
               q=Py_ssize_t, attachment_count=Py_ssize_t, packet_type=int,
               first=Py_UCS4)
cpdef tuple decode_packet(object encoded)

cpdef object reconstruct(object data, list attachments, Py_ssize_t depth=*)

cpdef object fan_out(dict sockets, object participants, object skip,
                      list packets)

cpdef object encode_eio(object packet_type, object data, bint b64)

@cython.locals(text=str, first=Py_UCS4, second=Py_UCS4, packet_type=int)
cpdef tuple decode_eio(object encoded)

cpdef list decode_payload(object payload, object max_packets)

cdef class _Attachments:
    cdef public list items

cdef class Packet:
    cdef public object packet_type
    cdef public object data
    cdef public object namespace
    cdef public object id
    cdef public object attachment_count
    cdef public list attachments
