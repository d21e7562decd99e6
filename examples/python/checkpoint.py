"""checkpoint from Python, through ctypes over its C API (checkpoint/checkpoint.h).

Standard library only. The shared library is found from the environment
variable CHECKPOINT_LIBRARY (a path), else as libcheckpoint.so.MAJOR.

    with checkpoint.Checkpoint(".winlogbeat.yml", max_updates=100) as cp:
        start = cp.get("Application")          # None, or the last position
        cp.persist("Application", 250502, time.time())

Strings are str (sent as UTF-8) or bytes (sent as they are). Every failure
raises CheckpointError, whose `code` is the C API's code name ("locked",
"not_found", ...) and whose message names the store or the argument.
"""

import ctypes
import ctypes.util
import os
import threading
from typing import Dict, List, NamedTuple, Optional, Tuple, Union

MAJOR = 0  # the library's soname: libcheckpoint.so.MAJOR

Text = Union[str, bytes]


class State(NamedTuple):
    """Where a reader stopped in one stream. `timestamp` is (unix seconds, nanoseconds)."""

    name: str
    record_number: int
    timestamp: Tuple[int, int]
    bookmark: str = ""


class CheckpointError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# ---- The C declarations ------------------------------------------------------


class _Options(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("max_updates", ctypes.c_size_t),
                ("flush_interval_ms", ctypes.c_int64)]


class _State(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("record_number", ctypes.c_uint64),
                ("unix_seconds", ctypes.c_int64), ("nanos", ctypes.c_uint32),
                ("bookmark", ctypes.c_char_p)]


class _StateList(ctypes.Structure):
    _fields_ = [("states", ctypes.POINTER(_State)), ("count", ctypes.c_size_t)]


class _Stats(ctypes.Structure):
    _fields_ = [("size", ctypes.c_size_t), ("commits", ctypes.c_uint64),
                ("failed_commits", ctypes.c_uint64), ("states", ctypes.c_size_t),
                ("pending", ctypes.c_size_t), ("last_commit_duration_ns", ctypes.c_int64),
                ("last_error", ctypes.c_char_p)]


class _Backend(ctypes.Structure):
    _fields_ = [("scheme", ctypes.c_char_p), ("description", ctypes.c_char_p),
                ("options", ctypes.c_char_p), ("extensions", ctypes.c_char_p)]


class _BackendList(ctypes.Structure):
    _fields_ = [("backends", ctypes.POINTER(_Backend)), ("count", ctypes.c_size_t)]


CONVERT_REPLACE = 1


def _load_library() -> ctypes.CDLL:
    path = os.environ.get("CHECKPOINT_LIBRARY") or ctypes.util.find_library("checkpoint")
    lib = ctypes.CDLL(path or f"libcheckpoint.so.{MAJOR}")
    handle = ctypes.c_void_p
    p = ctypes.POINTER
    errmsg = p(ctypes.c_void_p)  # char**, freed with checkpoint_free
    for name, restype, argtypes in [
        ("checkpoint_strerror", ctypes.c_char_p, [ctypes.c_int]),
        ("checkpoint_open", ctypes.c_int, [ctypes.c_char_p, p(_Options), p(handle), errmsg]),
        ("checkpoint_persist", ctypes.c_int, [handle, ctypes.c_char_p, ctypes.c_uint64,
                                              ctypes.c_int64, ctypes.c_uint32, ctypes.c_char_p]),
        ("checkpoint_remove", ctypes.c_int, [handle, ctypes.c_char_p]),
        ("checkpoint_get", ctypes.c_int, [handle, ctypes.c_char_p, p(_State)]),
        ("checkpoint_state_free", None, [p(_State)]),
        ("checkpoint_states", ctypes.c_int, [handle, p(_StateList)]),
        ("checkpoint_state_list_free", None, [p(_StateList)]),
        ("checkpoint_flush", ctypes.c_int, [handle]),
        ("checkpoint_shutdown", ctypes.c_int, [handle]),
        ("checkpoint_close", ctypes.c_int, [handle]),
        ("checkpoint_get_stats", ctypes.c_int, [handle, p(_Stats)]),
        ("checkpoint_stats_free", None, [p(_Stats)]),
        ("checkpoint_errmsg", ctypes.c_char_p, [handle]),
        ("checkpoint_free", None, [ctypes.c_void_p]),
        ("checkpoint_load", ctypes.c_int, [ctypes.c_char_p, p(_StateList), p(ctypes.c_int64),
                                           p(ctypes.c_uint32), errmsg]),
        ("checkpoint_convert", ctypes.c_int, [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint,
                                              errmsg]),
        ("checkpoint_backends", ctypes.c_int, [p(_BackendList)]),
        ("checkpoint_backend_list_free", None, [p(_BackendList)]),
        ("checkpoint_version_string", ctypes.c_char_p, []),
    ]:
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_lib = _load_library()


def _bytes(text: Optional[Text]) -> Optional[bytes]:
    return text.encode("utf-8") if isinstance(text, str) else text


def _text(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8") if raw else ""


def _error(code: int, message: Optional[bytes]) -> CheckpointError:
    return CheckpointError(_text(_lib.checkpoint_strerror(code)), _text(message))


def _check_unattached(code: int, errmsg: ctypes.c_void_p) -> None:
    """Raises for a failed call without a handle, and frees its *errmsg."""
    try:
        if code != 0:
            raise _error(code, ctypes.cast(errmsg, ctypes.c_char_p).value)
    finally:
        _lib.checkpoint_free(errmsg)


def _state(raw: _State) -> State:
    return State(_text(raw.name), raw.record_number, (raw.unix_seconds, raw.nanos),
                 _text(raw.bookmark))


def _states(raw: _StateList) -> List[State]:
    try:
        return [_state(raw.states[i]) for i in range(raw.count)]
    finally:
        _lib.checkpoint_state_list_free(ctypes.byref(raw))


def version() -> str:
    """The version of the library loaded."""
    return _text(_lib.checkpoint_version_string())


def load(uri: Text) -> Tuple[Tuple[int, int], List[State]]:
    """A store's update time and states, read without being its writer."""
    raw, seconds, nanos, errmsg = _StateList(), ctypes.c_int64(), ctypes.c_uint32(), ctypes.c_void_p()
    code = _lib.checkpoint_load(_bytes(uri), ctypes.byref(raw), ctypes.byref(seconds),
                                ctypes.byref(nanos), ctypes.byref(errmsg))
    _check_unattached(code, errmsg)
    return (seconds.value, nanos.value), _states(raw)


def convert(from_uri: Text, to_uri: Text, replace: bool = False) -> None:
    """Copies every state from one store to another (checkpointctl convert)."""
    errmsg = ctypes.c_void_p()
    code = _lib.checkpoint_convert(_bytes(from_uri), _bytes(to_uri),
                                   CONVERT_REPLACE if replace else 0, ctypes.byref(errmsg))
    _check_unattached(code, errmsg)


def backends() -> Dict[str, dict]:
    """The backends of the library, by scheme."""
    raw = _BackendList()
    code = _lib.checkpoint_backends(ctypes.byref(raw))
    if code != 0:
        raise _error(code, _lib.checkpoint_errmsg(None))
    try:
        out = {}
        for i in range(raw.count):
            b = raw.backends[i]
            out[_text(b.scheme)] = {
                "description": _text(b.description),
                "options": [o for o in _text(b.options).split(",") if o],
                "extensions": [e for e in _text(b.extensions).split(",") if e],
            }
        return out
    finally:
        _lib.checkpoint_backend_list_free(ctypes.byref(raw))


class Checkpoint:
    """An open store: positions persisted in memory, committed in batches by
    the library's worker thread, and at close(). Safe to use from several
    threads; close() must come last."""

    def __init__(self, uri: Text, max_updates: int = 0, flush_interval_ms: int = 0):
        """Opens (and makes, if missing) the store `uri` names: a path whose
        extension picks the backend, or a config string ("sqlite:state.db").
        0: the library's default (100 changes, 5000 ms)."""
        options = _Options(ctypes.sizeof(_Options), max_updates, flush_interval_ms)
        self._handle = ctypes.c_void_p()
        self._lock = threading.Lock()  # close() against the other calls
        errmsg = ctypes.c_void_p()
        code = _lib.checkpoint_open(_bytes(uri), ctypes.byref(options),
                                    ctypes.byref(self._handle), ctypes.byref(errmsg))
        _check_unattached(code, errmsg)

    def _check(self, code: int) -> None:
        # The message is kept per thread: this thread's, read right after its call.
        if code != 0:
            raise _error(code, _lib.checkpoint_errmsg(self._handle))

    def persist(self, name: Text, record_number: int, timestamp: float,
                bookmark: Optional[Text] = None) -> None:
        """Records a position; `timestamp` in Unix seconds (float or (seconds, nanos))."""
        if isinstance(timestamp, tuple):
            seconds, nanos = timestamp
        else:  # a float holds about microseconds of today's times
            seconds, nanos = divmod(round(timestamp * 1e9), 1_000_000_000)
        self._check(_lib.checkpoint_persist(self._handle, _bytes(name), record_number, seconds,
                                            nanos, _bytes(bookmark)))

    def remove(self, name: Text) -> None:
        self._check(_lib.checkpoint_remove(self._handle, _bytes(name)))

    def get(self, name: Text) -> Optional[State]:
        """The stream's state, or None."""
        raw = _State()
        code = _lib.checkpoint_get(self._handle, _bytes(name), ctypes.byref(raw))
        if code == 3:  # CHECKPOINT_NOT_FOUND
            return None
        self._check(code)
        try:
            return _state(raw)
        finally:
            _lib.checkpoint_state_free(ctypes.byref(raw))

    def states(self) -> List[State]:
        """Every state, sorted by name."""
        raw = _StateList()
        self._check(_lib.checkpoint_states(self._handle, ctypes.byref(raw)))
        return _states(raw)

    def stats(self) -> dict:
        raw = _Stats(size=ctypes.sizeof(_Stats))
        self._check(_lib.checkpoint_get_stats(self._handle, ctypes.byref(raw)))
        try:
            stats = {field: getattr(raw, field) for field, _ in _Stats._fields_[1:-1]}
            stats["last_error"] = _text(raw.last_error)
            return stats
        finally:
            _lib.checkpoint_stats_free(ctypes.byref(raw))

    def flush(self) -> None:
        """Commits what is pending now, and waits until it is durable."""
        self._check(_lib.checkpoint_flush(self._handle))

    def close(self) -> None:
        """The final commit, then the store is closed and its lock released."""
        with self._lock:
            handle, self._handle = self._handle, ctypes.c_void_p()
            if handle:
                code = _lib.checkpoint_close(handle)
                if code != 0:
                    raise _error(code, _lib.checkpoint_errmsg(None))

    def __enter__(self) -> "Checkpoint":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self.close()
