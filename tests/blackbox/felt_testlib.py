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
