#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A misbehaving libvnet control server, to test vnetconf's defences.

    ctl_fake.py SOCKET MODE

Listens on SOCKET (SOCK_SEQPACKET), prints "ready" and serves connections
one after the other, until killed, in one of these modes:

  stuck     accept and never answer (vnetconf must give up after 2 s)
  noaccept  never accept, with the listen backlog full (connect() blocks:
            vnetconf must give up after 2 s)
  hangup    close each connection without an answer
  badattr   answer LINK_GET with a 3-byte VNET_A_MAC
  extack    refuse every request: NLMSG_ERROR EBUSY with an extended-ack message
  oversize  answer with a datagram longer than VNET_CTL_MSG_MAX
  wrongseq  answer LINK_GET twice: first with another nlmsg_seq, then right
  biglen    answer with an nlmsg_len of 2^32 - 1 (libmnl takes it for -1)
  events    ack SUBSCRIBE, send a link_down and a link_up event, then hang up

The constants are those of libvnet/include/vnet/ctl.h and linux/netlink.h.
"""
import errno
import signal
import os
import socket
import struct
import sys

FAMILY = 0x76
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSGERR_ATTR_MSG = 1
CMD_LINK_GET, CMD_SUBSCRIBE, CMD_EVENT = 1, 8, 9
A_NAME, A_MAC, A_MTU, A_OPER_UP, A_ADMIN_UP, A_EVENT = 1, 5, 6, 8, 9, 27
EV_LINK_UP, EV_LINK_DOWN = 1, 2
MSG_MAX = 16384


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * (-n % 4)


def msg(kind, seq, body, flags=0):
    return struct.pack("=IHHII", 16 + len(body), kind, flags, seq, 0) + body


def genl(cmd, seq, attrs):
    return msg(FAMILY, seq, struct.pack("=BBH", cmd, 1, 0) + b"".join(attrs))


def error(req, err, text):
    seq = struct.unpack_from("=I", req, 8)[0]
    body = struct.pack("=i", -err) + req[:16] + attr(NLMSGERR_ATTR_MSG, text.encode() + b"\0")
    return msg(NLMSG_ERROR, seq, body, NLM_F_CAPPED | NLM_F_ACK_TLVS)


def ack(req):
    seq = struct.unpack_from("=I", req, 8)[0]
    return msg(NLMSG_ERROR, seq, struct.pack("=i", 0) + req[:16], NLM_F_CAPPED)


def link(seq, mac=b"\x52\x54\x00\x12\x34\x56"):
    return genl(CMD_LINK_GET, seq, [attr(A_NAME, b"fake0\0"), attr(A_MAC, mac),
                                    attr(A_MTU, struct.pack("=I", 1500))])


def event(kind, oper):
    return genl(CMD_EVENT, 0, [attr(A_NAME, b"fake0\0"), attr(A_EVENT, struct.pack("=I", kind)),
                               attr(A_OPER_UP, bytes([oper])), attr(A_ADMIN_UP, b"\1")])


def serve(conn, mode):
    if mode == "hangup":
        return
    if mode == "stuck":
        conn.recv(MSG_MAX)
        conn.recv(MSG_MAX)  # until the client gives up and closes
        return
    while True:
        req = conn.recv(MSG_MAX)
        if len(req) < 20:
            return
        seq = struct.unpack_from("=I", req, 8)[0]
        cmd = req[16]
        if mode == "extack":
            conn.send(error(req, errno.EBUSY, "the fake device refuses: \"busy\""))
        elif mode == "badattr":
            conn.send(link(seq, mac=b"\1\2\3"))
        elif mode == "oversize":
            conn.send(genl(cmd, seq, [attr(A_NAME, b"x" * (MSG_MAX + 100))]))
        elif mode == "biglen":
            conn.send(struct.pack("=I", 0xffffffff) + link(seq)[4:])
        elif mode == "wrongseq":
            conn.send(genl(CMD_LINK_GET, seq + 1, [attr(A_NAME, b"wrong\0")]))
            conn.send(link(seq))
        elif mode == "events" and cmd == CMD_SUBSCRIBE:
            conn.send(ack(req))
            conn.send(event(EV_LINK_DOWN, 0))
            conn.send(event(EV_LINK_UP, 1))
            return
        else:
            conn.send(error(req, errno.EOPNOTSUPP, "not in this mode"))


def main():
    path, mode = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    os.chmod(path, 0o600)
    if mode == "noaccept":
        # Backlog 0 holds one connection (unix(7)): ours fills it, so the
        # next connect() waits for an accept() that never comes.
        srv.listen(0)
        filler = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        filler.connect(path)
        print("ready", flush=True)
        while filler:
            signal.pause()
    srv.listen(4)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, mode)
        except OSError:
            pass
        conn.close()


if __name__ == "__main__":
    main()
