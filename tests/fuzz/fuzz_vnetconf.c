/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for vnetconf's side of the control protocol
 * (tools/ctl_client.c): whatever a server answers must be refused with a
 * reason or parsed, never crash, hang or read out of bounds.
 *
 * The first input byte picks the request (LINK_GET, STATS_GET, LINK_SET,
 * MAC_ADD, or the notifications of a subscribed connection); the rest is
 * the answer datagram, written to the other end of a socketpair before the
 * request is made. Its nlmsg_seq (bytes 8..11) is set to the request's,
 * unless the input's fifth byte is odd, so that both the parsers and the
 * sequence filter are reached. The peer then shuts its sending side, so a
 * request whose answer is incomplete ends at once (hang-up) instead of
 * waiting out the 2 s limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctl_client.h"

static void count_event(const struct ctl_event *ev, void *arg)
{
	(void)ev;
	++*(unsigned *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ctl_settings set = {
		.have = 1ull << VNET_A_MTU | 1ull << VNET_A_ADMIN_UP, .mtu = 1400, .up = true,
	};
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };
	struct ctl_conn c = { .name = "fuzz0", .pid = 1, .seq = 41 };
	struct ctl_link link;
	struct ctl_stats st;
	unsigned events = 0;
	uint8_t *answer;
	int sv[2];

	if (size < 1 || size - 1 > VNET_CTL_MSG_MAX + 64 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return 0;
	answer = malloc(size);
	c.buf = malloc(VNET_CTL_MSG_MAX);
	if (!answer || !c.buf)
		abort();
	memcpy(answer, data + 1, size - 1);
	if (size - 1 >= 12 && !(size > 5 && data[5] & 1)) {
		uint32_t seq = c.seq + 1;

		memcpy(answer + 8, &seq, sizeof(seq));
	}
	c.fd = sv[0];
	if (size > 1)
		send(sv[1], answer, size - 1, 0);
	shutdown(sv[1], SHUT_WR);
	switch (data[0] % 5) {
	case 0:
		ctl_link_get(&c, &link);
		break;
	case 1:
		if (ctl_stats_get(&c, &st) == 0)
			ctl_stats_free(&st);
		break;
	case 2:
		ctl_link_set(&c, &set);
		break;
	case 3:
		ctl_filter(&c, VNET_CMD_MAC_ADD, mac, 0);
		break;
	default:
		while (ctl_read_events(&c, count_event, &events) > 0)
			;
		break;
	}
	ctl_close(&c);
	close(sv[1]);
	free(answer);
	return 0;
}
