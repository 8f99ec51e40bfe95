#!/usr/bin/env python3
"""tui_proxy.py: a loopback TCP relay between felt and feltd, for the TUI test.

The test cuts felt's connection by killing this process (every relayed socket dies with it, as
when a network drops) and restores it by starting a new one on the same port. Standard library
only; listens on 127.0.0.1 and connects only to 127.0.0.1.

usage: tui_proxy.py LISTEN_PORT TARGET_PORT   (LISTEN_PORT 0 picks a free port)
The port it listens on is printed on stdout, one line, once it accepts connections.
"""
import socket
import sys
import threading


def relay(src, dst):
    """Copies src to dst until either side ends, then closes both directions."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: tui_proxy.py LISTEN_PORT TARGET_PORT")
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", listen_port))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    while True:
        client, _ = ls.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", target_port), timeout=5)
            upstream.settimeout(None)
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=relay, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
