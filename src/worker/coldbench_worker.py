#!/usr/bin/env python3
"""A worker of `cargo coldbench suite rpc`, in one file of Python.

It speaks coldbench-rpc/1 (docs/PROTOCOL.md of cargo-coldbench) on the worker's stdin and
stdout with the standard library alone, or over ZeroMQ (ipc, tcp) with pyzmq
(`pip install pyzmq`). Get it with `cargo coldbench worker python > coldbench_worker.py`.

Run as a script, it serves the built-in methods that the suite measures:

    [package.metadata.bench.rpc]
    worker = { command = ["python3", "coldbench_worker.py"] }
    transport = ["stdio", "ipc"]

Imported, it serves your methods too (one with a built-in's name replaces it):

    import hashlib
    import coldbench_worker as cw

    @cw.method
    def sha256(arg):                      # arg: a memoryview of the argument's bytes
        return hashlib.sha256(arg).digest()

    cw.serve()                            # or cw.serve({"sha256": sha256})

A method gets its argument as a memoryview (no copy: `bytes(arg)` where a library wants bytes)
and returns bytes, bytearray or a memoryview. An exception fails the call with its type and
message (its traceback goes to stderr). While it runs, a method may call the host back:
`cw.call("counter.add", arg)`. What the program prints goes to stderr: over stdio, stdout
carries the protocol.
"""

import mmap
import os
import struct
import sys
import time
import traceback
import zlib

PROTOCOL = b"coldbench-rpc/1"
OK, NO_SUCH_METHOD, FAILED = b"\x00", b"\x01", b"\x02"
LITTLE = sys.byteorder == "little"

METHODS = {}


def method(fn=None, *, name=None):
    """Registers a method under its function's name (or `name`): `@method`, `@method(name="x")`."""

    def register(fn):
        METHODS[name or fn.__name__] = fn
        return fn

    return register(fn) if fn is not None else register


class CallError(Exception):
    """A call to the host that has no result: the host's status and message."""


# -- The built-in methods (docs/PROTOCOL.md, "Methods every worker has"). Integers are
# -- little-endian; `count` arguments are a u32.


def _count(arg):
    if len(arg) != 4:
        raise ValueError(f"takes a 4-byte count, got {len(arg)} bytes")
    return struct.unpack("<I", arg)[0]


@method
def small_int(arg):
    if len(arg) != 8:
        raise ValueError(f"small_int takes 8 bytes, got {len(arg)}")
    return struct.pack("<Q", (struct.unpack("<Q", arg)[0] + 1) & 0xFFFF_FFFF_FFFF_FFFF)


@method
def small_string(arg):
    return str(arg, "utf-8")[::-1].encode()


@method
def array_f64(arg):
    if len(arg) % 8:
        raise ValueError(f"array_f64 takes a multiple of 8 bytes, got {len(arg)}")
    values = arg.cast("d") if LITTLE else (x for (x,) in struct.iter_unpack("<d", arg))
    # In order from the first, as the host adds them: the same sum to the last bit.
    return struct.pack("<d", sum(values, 0.0))


@method(name="bytes")
def crc32(arg):
    return struct.pack("<I", zlib.crc32(arg))


@method
def echo(arg):
    return arg


@method
def chain(arg):
    depth = _count(arg)
    return call("chain", struct.pack("<I", depth - 1)) if depth > 1 else arg


@method
def singleton(arg):
    last = b""
    for _ in range(_count(arg)):
        last = call("counter.add", struct.pack("<Q", 1))
    return last


# -- Transports: one message is a list of frames.


class Stdio:
    """Messages on stdin and stdout: a frame count (u32), then per frame its length (u64) and bytes."""

    def __init__(self):
        # The protocol keeps the real stdout; what the program prints goes to stderr instead.
        self.out = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self.inp = os.fdopen(os.dup(0), "rb", buffering=1 << 16)

    def send(self, frames):
        self.out.write(struct.pack("<I", len(frames)))
        for frame in frames:
            self.out.write(struct.pack("<Q", memoryview(frame).nbytes))
            self.out.write(frame)
        self.out.flush()

    def recv(self):
        """The next message, or None when the host closed the stream."""
        if not self.inp.peek(1):
            return None
        (count,) = struct.unpack("<I", self._read(4))
        return [memoryview(self._read(struct.unpack("<Q", self._read(8))[0])) for _ in range(count)]

    def _read(self, n):
        # A buffered read of n bytes reads a large frame straight into the result: no copy.
        data = self.inp.read(n)
        if len(data) < n:
            raise EOFError("the host closed the stream in the middle of a message")
        return data


class Zmq:
    """Messages over a ZeroMQ DEALER socket connected to the host's: one multipart message each."""

    def __init__(self, endpoint):
        try:
            import zmq
        except ImportError:
            sys.exit(
                f"coldbench worker: {endpoint} is a ZeroMQ endpoint, and pyzmq is not installed: "
                "pip install pyzmq (or use transport = \"stdio\", which needs only the standard library)"
            )
        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(endpoint)

    def send(self, frames):
        # Large frames are sent from where they lie (pyzmq copies the small ones anyway).
        self.socket.send_multipart(frames, copy=False)

    def recv(self):
        return [frame.buffer for frame in self.socket.recv_multipart(copy=False)]


class Shared:
    """The host's segment of large arguments (docs/PROTOCOL.md, "Shared memory"), mapped read-only.

    A CALL of five frames has an empty argument frame and, last, where its argument lies in the
    segment: offset and length (u64 each). The method reads it there, as a memoryview.
    """

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        self.map = None

    def argument(self, reference):
        if reference.nbytes != 16:
            raise RuntimeError(f"the shared-memory reference has {reference.nbytes} bytes, the protocol says 16")
        offset, length = struct.unpack("<QQ", reference)
        end = offset + length
        if self.map is None or len(self.map) < end:
            # The host grew the segment. An argument still held keeps the old mapping alive.
            size = os.fstat(self.fd).st_size
            if size < end:
                raise RuntimeError(f"the shared-memory reference ends at byte {end}, the segment has {size}")
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            self.map = mmap.mmap(self.fd, size, flags, mmap.PROT_READ)
        return memoryview(self.map)[offset:end]


# -- The session: calls in both directions.

_conn = None
_shared = None
_next_id = 1


def call(name, arg):
    """Calls method `name` of the host with `arg` (bytes-like) and returns its result (bytes).

    The host's calls that arrive meanwhile are served, so chains nest to any depth.
    """
    global _next_id
    call_id, _next_id = _next_id, _next_id + 1
    _conn.send([b"CALL", struct.pack("<Q", call_id), name.encode(), arg])
    while True:
        frames = _receive()
        if frames is None:
            raise CallError(f"the host closed the connection while `{name}` waited")
        if frames[0] != b"REPLY":
            _handle(frames)
            continue
        if len(frames) != 5 or struct.unpack("<Q", frames[1])[0] != call_id:
            raise CallError(f"a reply to another call while `{name}` waited")
        if frames[2] != OK:
            raise CallError(str(frames[3], "utf-8", "replace"))
        return frames[3].tobytes()


class _Bye(Exception):
    pass


def _receive():
    frames = _conn.recv()
    if frames and frames[0] == b"BYE":
        raise _Bye()
    return frames


def _handle(frames):
    """Serves a CALL: runs the method and sends its REPLY with how long it ran."""
    if frames[0] == b"CALL" and len(frames) == 5 and _shared is not None and frames[3].nbytes == 0:
        frames = [*frames[:3], _shared.argument(frames[4])]
    if frames[0] != b"CALL" or len(frames) != 4:
        raise RuntimeError(f"not a coldbench-rpc/1 CALL: {len(frames)} frames, the first {frames[0].tobytes()!r}")
    call_id, name, arg = frames[1], str(frames[2], "utf-8"), frames[3]
    fn = METHODS.get(name)
    if fn is None:
        _conn.send([b"REPLY", call_id, NO_SUCH_METHOD, name.encode(), struct.pack("<Q", 0)])
        return
    start = time.perf_counter_ns()
    try:
        status, result = OK, fn(arg)
        memoryview(result)  # bytes-like, or a TypeError that says what it is
    except Exception as e:
        traceback.print_exc()
        status, result = FAILED, f"{type(e).__name__}: {e}".encode()
    took = time.perf_counter_ns() - start
    _conn.send([b"REPLY", call_id, status, result, struct.pack("<Q", took)])


def serve(methods=None):
    """Connects to the host named in COLDBENCH_RPC and serves its calls until it says BYE.

    `methods` (name → function) are added to those registered with @method.
    """
    global _conn, _shared
    METHODS.update(methods or {})
    endpoint = os.environ.get("COLDBENCH_RPC")
    if not endpoint:
        sys.exit(
            "coldbench worker: COLDBENCH_RPC is not set: this program is a worker of "
            "`cargo coldbench suite rpc`, which starts it"
        )
    _conn = Stdio() if endpoint == "stdio" else Zmq(endpoint)
    head = PROTOCOL
    if os.environ.get("COLDBENCH_RPC_SHM"):
        try:
            _shared = Shared(os.environ["COLDBENCH_RPC_SHM"])
            head += b" shm"
        except OSError as e:
            # The connection carries every byte instead: slower, not wrong.
            print(f"coldbench worker: could not open the host's shared memory: {e}", file=sys.stderr)
    _conn.send([b"HELLO", head, *(m.encode() for m in sorted(METHODS))])
    try:
        while (frames := _receive()) is not None:
            _handle(frames)
    except _Bye:
        pass


if __name__ == "__main__":
    serve()
