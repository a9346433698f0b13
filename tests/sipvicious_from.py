"""Run a SIPVicious tool with its UDP socket bound to a given source address.

``python3 tests/sipvicious_from.py 127.0.0.66 svwar -e100-120 ...``: svwar and svcrack (0.3.3 in Debian,
and 0.3.8 on PyPI) accept ``-b BINDINGIP`` but never hand it to their scanner, which binds every
interface; this binds what they bind to the address given instead, so a scan really comes from it.
"""

import os
import runpy
import shutil
import socket
import sys

source, tool, *args = sys.argv[1:]
bind = socket.socket.bind


def bind_to_source(sock: socket.socket, address: tuple[str, int]) -> None:
    bind(sock, (source, address[1]) if address[0] in ("", "0.0.0.0") else address)


socket.socket.bind = bind_to_source  # type: ignore[method-assign]
sys.argv = [tool, *args]
path = shutil.which(tool)
if path is None:
    sys.exit(f"{tool} is not installed (Debian package sipvicious)")
script = os.path.realpath(path)  # Debian links the entry points to their package directory
sys.path.insert(0, os.path.dirname(script))
runpy.run_path(script, run_name="__main__")
