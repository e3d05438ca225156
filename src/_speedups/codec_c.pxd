# C types for codec_py.py when Cython compiles it as codec_c (pure-Python
# mode: the .py stays the one source; this file only adds types).  setup.py
# stages both as flask_socketio/_speedups/codec_c.{py,pxd}, where Cython
# looks for this file.
cimport cython

cpdef bint has_nonfinite(object obj, Py_ssize_t depth=*)

@cython.locals(step=Py_ssize_t, end=Py_ssize_t, pos=Py_ssize_t,
               lo=Py_ssize_t, hi=Py_ssize_t)
cpdef bint long_digit_run(str text)

cpdef object dump_compact(object obj)

cpdef object _or_text(object obj, object default)

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
