#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Send back every frame received on an AF_PACKET socket, unchanged.

    reflect.py IFNAME COUNT

The far end of preload-socat.sh's cable: run under libvnet-preload.so with
IFNAME mapped to one end of a vnet-simd pair, in a process of its own, it
returns COUNT frames to the socat on the other end, then exits 0 (1 when
a frame does not come within 10 s).
"""
import signal
import socket
import sys

signal.alarm(300)  # bounded whatever happens
ifname, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
print("ready", flush=True)
s.settimeout(10)
for _ in range(count):
    try:
        f = s.recv(2048)
    except socket.timeout:
        sys.exit(1)
    s.send(f)
