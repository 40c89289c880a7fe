/* SPDX-License-Identifier: MIT */
/* Inside vnetconf's control client: what ctl_client.c and ctl_answer.c share. */
#ifndef VNETCONF_CTL_ANSWER_H
#define VNETCONF_CTL_ANSWER_H

#include <linux/netlink.h>

#include "compiler.h"
#include "ctl_client.h"

/* Record the reason ctl_why() gives; returns err. */
int ctl_fail(int err, const char *fmt, ...) VN_PRINTF(2, 3);

/* A string attribute, NUL-terminated or not, into dst (truncated to fit). */
void ctl_copy_str(char *dst, size_t sz, const struct nlattr *a);

/* The attributes of a LINK_GET answer, a STATS_GET answer (s->v malloc'ed:
 * ctl_stats_free()), a notification; 0 or -EPROTO with a reason. */
int ctl_parse_link(const struct nlmsghdr *nlh, struct ctl_link *l);
int ctl_parse_stats(const struct nlmsghdr *nlh, struct ctl_stats *s);
int ctl_parse_event(const struct nlmsghdr *nlh, struct ctl_event *ev);
int ctl_parse_rss(const struct nlmsghdr *nlh, struct ctl_rss *r);
int ctl_parse_coal(const struct nlmsghdr *nlh, struct ctl_coal *k);

#endif
