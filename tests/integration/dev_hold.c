/* SPDX-License-Identifier: MIT */
/*
 * dev_hold URI: open a device and hold it open for a test script, moving
 * frames only when told, so that what vnetconf sees is deterministic.
 *
 * Prints "ready" once the device is open, then reads commands from stdin,
 * one per line, and answers each with one line:
 *   send N [MAC]  send N 64-byte frames to the device's own MAC (or to
 *                 MAC), one at a time, and wait up to 200 ms for each to
 *                 come back (sim:loopback): "sent N received M"
 * End of input closes the device and exits 0 (an unknown command: 1), so
 * the script controls the device's lifetime.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vnet/socket.h"
#include "vnet/vnet.h"

#define FRAME_LEN 64

int main(int argc, char **argv)
{
	struct vnet_dev_info info = { .sz = sizeof(info) };
	unsigned char frame[FRAME_LEN] = { 0 }, back[2048];
	char line[64];
	unsigned long n;
	int fd, rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: dev_hold URI\n");
		return 2;
	}
	fd = vnet_socket(argv[1], 0, 0);
	if (fd < 0 || vnet_socket_info(fd, &info) ||
	    vnet_socket_set(fd, VNET_SO_RCVTIMEO_MS, 200)) {
		fprintf(stderr, "dev_hold: %s: %s\n", argv[1], vnet_last_error());
		return 1;
	}
	memcpy(frame, info.mac, 6);
	memcpy(frame + 6, info.mac, 6);
	frame[12] = 0x88; /* EtherType 0x88B5, IEEE local experimental */
	frame[13] = 0xb5;
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		unsigned long got = 0;
		unsigned d[6];
		int k = sscanf(line, "send %lu %x:%x:%x:%x:%x:%x", &n, &d[0], &d[1], &d[2], &d[3],
			       &d[4], &d[5]);

		if (k != 1 && k != 7) {
			fprintf(stderr, "dev_hold: unknown command %s", line);
			rc = 1;
			break;
		}
		for (int i = 0; i < 6; i++)
			frame[i] = k == 7 ? (unsigned char)d[i] : info.mac[i];
		for (unsigned long i = 0; i < n; i++) {
			if (vnet_send(fd, frame, sizeof(frame), 0) != (ssize_t)sizeof(frame))
				break;
			got += vnet_recv(fd, back, sizeof(back), 0) == (ssize_t)sizeof(frame);
		}
		printf("sent %lu received %lu\n", n, got);
		fflush(stdout);
	}
	vnet_close(fd);
	return rc;
}
