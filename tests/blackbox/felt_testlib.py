"""felt_testlib.py: what more than one of the Python black-box tests needs (json_test.py,
stall_test.py, cluster_test.py), written once. Standard library only; loopback only.

Not a test itself. The tests run as `python3 tests/blackbox/NAME_test.py ...` (ctest does so from
the build folder), so Python puts this folder first on sys.path and `from felt_testlib import
...` finds this file wherever the build is. The tests turn off bytecode caching before importing
it (sys.dont_write_bytecode), so that running them leaves no __pycache__ in the source tree.
"""
import json
import socket


def free_port():
    """A loopback TCP port that nothing listens on now (bound to port 0, then closed), for a
    server to start on later or for a client to find no server at. Free, not reserved: another
    process could take it before the test uses it."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def json_lines(stream):
    """Each line of stream (felt --json's stdout) as the JSON object it holds, or as
    {"type": "unparsable", "raw": LINE} when it holds none, until the stream ends."""
    for raw in stream:
        try:
            yield json.loads(raw)
        except ValueError:
            yield {"type": "unparsable", "raw": raw}


class WsClient:
    """A minimal WebSocket client (RFC 6455) for the tests that must see exactly what a socket
    carries: one socket to 127.0.0.1:port at path (from source, another loopback address to
    look like another client; headers: extra (name, value) pairs), sub-protocol felt.v2
    (several messages a frame, a line each), no extensions. recv() returns the next message as a dict, or a
    ("close", code, reason) tuple once the server closed, or None on timeout."""

    def __init__(self, port, path, protocol="felt.v2", timeout=5, source="127.0.0.1",
                 headers=()):
        import base64
        import os
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                             source_address=(source, 0))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n%s\r\n"
                           % (path, port, key, protocol,
                              "".join("%s: %s\r\n" % h for h in headers))).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the handshake")
            head += chunk
        self.status = int(head.split(b" ", 2)[1])
        self.buf = b""
        self.pending = []
        self.closed = None

    def send(self, obj):
        import os
        import struct
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n))
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _frame(self):
        """The first whole frame in buf as (fin, opcode, payload), taken out of it; or None."""
        import struct
        if len(self.buf) < 2:
            return None
        n, at = self.buf[1] & 0x7f, 2
        if n == 126:
            if len(self.buf) < 4:
                return None
            n, at = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            if len(self.buf) < 10:
                return None
            n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
        if len(self.buf) < at + n:
            return None
        b0, payload, self.buf = self.buf[0], self.buf[at:at + n], self.buf[at + n:]
        return b0 & 0x80, b0 & 0x0f, payload

    def recv(self, timeout=5):
        import os
        import struct
        import time
        if self.pending:
            return self.pending.pop(0)
        if self.closed:
            return self.closed
        end = time.monotonic() + timeout
        data = b""
        while True:
            f = self._frame()
            if f is None:
                left = end - time.monotonic()
                if left <= 0:
                    return None
                try:
                    self.sock.settimeout(left)
                    chunk = self.sock.recv(65536)
                except socket.timeout:
                    return None
                except OSError:
                    chunk = b""
                if not chunk:
                    self.closed = ("close", 0, "broken")
                    return self.closed
                self.buf += chunk
                continue
            fin, op, payload = f
            if op == 8:
                code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 0
                self.closed = ("close", code, payload[2:].decode(errors="replace"))
                return self.closed
            if op == 9:  # ping: a pong, masked as a client's must be
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8a, 0x80 | len(payload)]) + mask +
                                  bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if op == 10:
                continue
            data += payload
            if fin:
                break
        self.pending = [json.loads(line) for line in data.decode().split("\n") if line]
        return self.pending.pop(0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
