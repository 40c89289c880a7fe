# man/: section-3 pages of <vnet/vnet.h>, one page per group of calls and a
# ".so" link for every other call of the group (the socket calls' pages are
# listed in sockapi/local.mk, the tools' next to the tools).
dist_man_MANS += man/vnet_dev_open.3 man/vnet_dev_close.3 man/vnet_dev_info.3 man/vnet_dev_queue.3 \
	man/vnet_queue_stats.3 man/vnet_dev_xstats.3 \
	man/vnet_dev_set_mtu.3 man/vnet_dev_set_up.3 man/vnet_dev_set_promisc.3 \
	man/vnet_dev_set_allmulti.3 man/vnet_dev_set_mac.3 man/vnet_dev_set_queue_pairs.3 \
	man/vnet_dev_mac_add.3 man/vnet_dev_mac_del.3 man/vnet_dev_vlan_add.3 \
	man/vnet_dev_vlan_del.3 man/vnet_dev_filters.3 \
	man/vnet_dev_set_rss.3 man/vnet_dev_rss.3 man/vnet_dev_set_coalesce.3 man/vnet_dev_coalesce.3 \
	man/vnet_tx_reserve.3 man/vnet_tx_submit.3 man/vnet_rx_peek.3 man/vnet_rx_release.3 \
	man/vnet_tx_offload.3 man/vnet_rx_offload.3 \
	man/vnet_wait.3 man/vnet_queue_fd.3 man/vnet_queue_arm.3 man/vnet_queue_disarm.3 man/vnet_queue_busy_poll.3 \
	man/vnet_dev_event.3 man/vnet_dev_event_fd.3 \
	man/vnet_last_error.3 man/vnet_set_log_level.3 \
	man/vnet_socket_set.3 man/vnet_socket_get.3 man/vnet_poll.3
