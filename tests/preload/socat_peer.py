#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The UDP peer of an unmodified socat whose TAP address is a libvnet device.

    socat_peer.py IFNAME URI COUNT [TUN-OPTIONS]

starts (environment: SOCAT, PRELOAD_LD = the LD_PRELOAD value for socat only)
    VNET_PRELOAD=IFNAME=URI LD_PRELOAD=$PRELOAD_LD socat -T 10 \
        TUN,tun-type=tap,tun-name=IFNAME,iff-no-pi[,TUN-OPTIONS] UDP-LISTEN:PORT,bind=127.0.0.1
sends it COUNT Ethernet frames (60..1514 bytes) as UDP datagrams, at most
WINDOW in flight, and checks that each comes back byte for byte and in
order: socat writes each datagram to the TAP file, the loopback device
returns it, socat reads it and sends it back. socat is stopped at the end
and must have said no error. Exits 0 on success, 1 with a reason otherwise.
"""
import os
import socket
import struct
import subprocess
import sys
import time

WINDOW = 16


def frame(seq):
    size = 60 + (seq * 7919) % (1514 - 60 + 1)
    head = b"\xff" * 6 + bytes.fromhex("02005e100002") + struct.pack("!HQ", 0x88B5, seq)
    return head + bytes((seq * 31 + i * 7) & 0xFF for i in range(len(head), size))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_bound(port):
    """True once some socket is bound to 127.0.0.1:port (socat is listening)."""
    want = "0100007F:%04X" % port
    with open("/proc/net/udp") as f:
        return any(line.split()[1] == want for line in f.readlines()[1:])


def run(log):
    """The exchange; socat's stderr goes to log. A reason for failure or None."""
    ifname, uri, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = "," + sys.argv[4] if len(sys.argv) > 4 else ""
    port = free_port()
    env = dict(os.environ, VNET_PRELOAD="%s=%s" % (ifname, uri), LD_PRELOAD=os.environ["PRELOAD_LD"])
    cmd = [os.environ.get("SOCAT", "socat"), "-T", "10",
           "TUN,tun-type=tap,tun-name=%s,iff-no-pi%s" % (ifname, extra),
           "UDP-LISTEN:%d,bind=127.0.0.1" % port]
    socat = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not udp_bound(port):
            if socat.poll() is not None or time.monotonic() > deadline:
                return "socat did not start listening (exit %s)" % socat.poll()
            time.sleep(0.02)
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.connect(("127.0.0.1", port))
        peer.settimeout(5)
        sent = got = 0
        while got < count:
            while sent < count and sent - got < WINDOW:
                peer.send(frame(sent))
                sent += 1
            try:
                data = peer.recv(65536)
            except socket.timeout:
                return "frame %d did not come back (%d sent)" % (got, sent)
            if data != frame(got):
                seq = struct.unpack("!Q", data[14:22])[0] if len(data) >= 22 else None
                return "frame %d: got %d bytes (seq %s), want %d" % (got, len(data), seq, len(frame(got)))
            got += 1
        peer.close()
    finally:
        socat.terminate()
        try:
            log.append(socat.communicate(timeout=10)[1].decode(errors="replace"))
        except subprocess.TimeoutExpired:
            socat.kill()
            log.append(socat.communicate()[1].decode(errors="replace"))
    return None


def main():
    log = []
    reason = run(log)
    errors = [line for line in "".join(log).splitlines() if " E " in line]
    if errors:
        reason = (reason + "; " if reason else "") + "socat said: " + "; ".join(errors)
    if not reason:
        print("%d frames through socat and %s, every byte and in order" % (int(sys.argv[3]), sys.argv[2]))
    return reason


if __name__ == "__main__":
    reason = main()
    if reason:
        print("FAIL: " + reason, file=sys.stderr)
    sys.exit(1 if reason else 0)
