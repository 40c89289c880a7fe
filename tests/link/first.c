/* SPDX-License-Identifier: MIT */
/*
 * A first libvnet program (README "First program"): open a socket on the
 * simulated loopback device, send one frame, receive it back and check
 * every byte. tests/link/test-link.sh builds it against an installed
 * libvnet, shared and static, with pkg-config.
 */
#include <stdio.h>
#include <string.h>
#include <vnet/socket.h>

int main(void)
{
	unsigned char frame[64] = { 0 }, back[128];
	struct vnet_dev_info info = { .sz = sizeof(info) };
	ssize_t n;
	int fd;

	fd = vnet_socket("sim:loopback", 0, 0);
	if (fd < 0) {
		fprintf(stderr, "vnet_socket: %s\n", vnet_last_error());
		return 1;
	}
	vnet_socket_info(fd, &info);
	memset(frame, 0xff, 6);                 /* to: broadcast */
	memcpy(frame + 6, info.mac, 6);         /* from: the device */
	frame[12] = 0x88, frame[13] = 0xb5;     /* EtherType: local experimental */
	memcpy(frame + 14, "hello, libvnet", 14);
	vnet_socket_set(fd, VNET_SO_RCVTIMEO_MS, 2000);
	if (vnet_send(fd, frame, sizeof(frame), 0) < 0) {
		fprintf(stderr, "vnet_send: %s\n", vnet_last_error());
		return 1;
	}
	n = vnet_recv(fd, back, sizeof(back), 0);
	vnet_close(fd);
	if (n != (ssize_t)sizeof(frame) || memcmp(back, frame, sizeof(frame))) {
		fprintf(stderr, "received %zd bytes, not the frame sent\n", n);
		return 1;
	}
	printf("sent and received %zd bytes on sim:loopback\n", n);
	return 0;
}
