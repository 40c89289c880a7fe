/* SPDX-License-Identifier: MIT */
/*
 * Device side of a split virtqueue (virtio 1.2 §2.7), or of a packed one
 * (§2.8, sim_vq_packed.c) when VIRTIO_F_RING_PACKED is negotiated, written from the spec
 * independently of the driver in libvnet/virtio/: a bug shared by both sides
 * would pass every test.
 *
 * The device reads the available ring and the descriptor table, writes the
 * used ring. Everything in guest (client) memory is untrusted: indices,
 * descriptor addresses, lengths and flags are validated before use, and a
 * ring that breaks the rules is reported as an error (the caller then sets
 * DEVICE_NEEDS_RESET), never followed.
 *
 * Memory the client mapped without an fd (vfu_server.h) has no pointer:
 * then every ring field is read and written by DMA message (vfu_dma_rw(),
 * one round trip each, in the order the rules of §2.7 need), and each
 * buffer goes through a bounce copy: read at pop (device-readable), written
 * back at push, before the used entry (device-writable). Slow, but the
 * driver sees exactly what it would see in shared memory.
 */
#ifndef VN_SIM_VQ_H
#define VN_SIM_VQ_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

struct vfu_server;

#define SIM_VQ_MAX_SIZE 1024

/* One mapped descriptor buffer. */
struct sim_seg {
	uint8_t *p;
	uint32_t len;
};

/* A popped descriptor chain; its segments live in a caller-provided array,
 * device-readable ones first (§2.7.4.2 orders them so). */
struct sim_chain {
	uint16_t head;
	unsigned n_out, n_in;     /* readable, then writable segments */
	uint64_t out_len, in_len; /* their byte totals */
	struct sim_seg *seg;
};

struct sim_bounce; /* sim_vq.c: the bounce copies of one chain */

struct sim_vq {
	/* Configured through the common configuration structure. */
	uint16_t size;
	uint16_t max_size;
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc_iova, avail_iova, used_iova;

	/* Set up when the device starts; NULL until then and after a DMA unmap. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	/* Or, rings in memory the client kept: reached through srv by message. */
	bool remote;
	bool remote_fault;   /* a DMA message failed: the next pop fails the queue */
	struct vfu_server *srv;
	struct sim_bounce **bounce; /* by head id (size entries), remote only */

	bool event_idx;      /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool notify_on;      /* available buffer notifications wanted */
	uint16_t last_avail; /* next available ring slot to consume */
	uint16_t avail_seen; /* avail->idx as last read */
	uint16_t used_idx;   /* next used ring slot to fill */
	uint16_t published;  /* used->idx as last written */
	uint16_t signalled;  /* used->idx at the last interrupt decision */

	/*
	 * Packed ring (sim_vq_packed.c): desc_iova is the descriptor ring,
	 * avail_iova the driver and used_iova the device event suppression
	 * structure. Positions are an offset and a wrap counter (§2.8.1).
	 */
	bool packed;         /* VIRTIO_F_RING_PACKED negotiated */
	bool batch;          /* IN_ORDER TX: one used descriptor per published batch (§2.8.8) */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *drv_ev, *dev_ev;
	uint16_t av_off, us_off, sig_off; /* next to read, next to write, at the last interrupt decision */
	bool av_wrap, us_wrap, sig_wrap;
	uint16_t held[SIM_VQ_MAX_SIZE]; /* descriptors of each popped chain not yet used, oldest first */
	uint16_t held_head, held_n;
	uint16_t first_off, first_flags; /* the first used descriptor not published yet */
	bool first_wrap, unpublished;
	uint16_t batch_id, batch_descs;  /* batch: the last id and the descriptors it covers */
	uint32_t batch_len;
};

/* Forget the ring (reset); keeps max_size. */
void sim_vq_reset(struct sim_vq *vq);

/* Translate the three ring areas; -EFAULT (with vn_err) when not mapped or misaligned. */
int sim_vq_map(struct sim_vq *vq, struct vfu_server *srv);

/* Mapped and ready for use. */
static inline bool sim_vq_ready(const struct sim_vq *vq)
{
	return vq->enabled && (vq->used != NULL || vq->remote);
}

/* Drop the ring pointers (the client unmapped DMA memory); sim_vq_map() again before use. */
void sim_vq_unmap(struct sim_vq *vq);

/*
 * Take the next available chain, mapping its buffers into seg[0..seg_cap).
 * Returns 1 (chain in *c), 0 (ring empty), -ENOSPC (more than seg_cap
 * segments: nothing consumed) or -EPROTO (the driver broke the ring rules;
 * vn_err says how).
 */
int sim_vq_pop(struct sim_vq *vq, struct vfu_server *srv, struct sim_seg *seg,
	       unsigned seg_cap, struct sim_chain *c);

/*
 * Both ring layouts' pop, one descriptor at a time: check one of len bytes
 * with flags, the where-th of its ring (-EPROTO, or -ENOSPC when c holds
 * seg_cap segments); then, when len is not 0, add its buffer, mapped at p
 * (NULL: addr is not in mapped memory, -EPROTO).
 */
int sim_chain_check(const struct sim_chain *c, unsigned seg_cap, uint16_t flags, uint32_t len,
		    unsigned where);
int sim_chain_add(struct sim_chain *c, void *p, uint32_t len, bool write, uint64_t addr,
		  unsigned where);

/* Give back the last n popped chains (none of them pushed yet). */
void sim_vq_unpop(struct sim_vq *vq, uint16_t n);

/* Fill the next used ring entry; not visible to the driver before sim_vq_publish(). */
void sim_vq_push(struct sim_vq *vq, uint32_t id, uint32_t len);

/*
 * Publish pushed entries (used->idx) and decide whether the driver asked for
 * a used buffer notification for them. Returns true when one is due.
 */
bool sim_vq_publish(struct sim_vq *vq);

/*
 * Ask for (on) or suppress (off) available buffer notifications. Turning
 * them on ends with a full barrier so that the caller's next look at the
 * ring cannot miss a buffer made available before the driver saw the change.
 */
void sim_vq_notify(struct sim_vq *vq, bool on);

/*
 * VIRTIO_F_NOTIFICATION_DATA (virtio 1.2 §4.1.5.2): check the data of a
 * doorbell (queue index, next avail index or offset and wrap counter)
 * against the ring: it must name a position the driver has made available.
 * 0 or -EPROTO (vn_err says how).
 */
int sim_vq_check_notify(struct sim_vq *vq, uint16_t qidx, uint32_t data);

/* The packed layout (sim_vq_packed.c), behind the calls above. */
int sim_vqp_map(struct sim_vq *vq, struct vfu_server *srv);
int sim_vqp_pop(struct sim_vq *vq, struct vfu_server *srv, struct sim_seg *seg,
		unsigned seg_cap, struct sim_chain *c);
void sim_vqp_unpop(struct sim_vq *vq, uint16_t n);
void sim_vqp_push(struct sim_vq *vq, uint32_t id, uint32_t len);
bool sim_vqp_publish(struct sim_vq *vq);
void sim_vqp_notify(struct sim_vq *vq, bool on);
int sim_vqp_check_notify(struct sim_vq *vq, uint32_t data);

#endif
