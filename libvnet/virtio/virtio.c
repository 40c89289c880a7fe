/* SPDX-License-Identifier: MIT */
#include "virtio/virtio.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <linux/virtio_config.h>

#include "log.h"

/* A device that changes its config this often while we read it is broken. */
#define CFG_READ_TRIES 64

uint64_t vn_virtio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void vn_virtio_pause(void)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 50 * 1000 };

	nanosleep(&ts, NULL);
}

int vn_virtio_reset(struct vn_vtr *t)
{
	uint64_t deadline = vn_virtio_now_ms() + VN_VIRTIO_RESET_TIMEOUT_MS;
	uint8_t st;
	int rc;

	/* virtio 1.2 §2.1.2 / §4.1.4.3.2: writing 0 to device_status resets the
	 * device; the driver MUST wait until it reads back 0 before reinitialising. */
	rc = t->ops->set_status(t, 0);
	if (rc)
		return rc;
	for (;;) {
		rc = t->ops->get_status(t, &st);
		if (rc)
			return rc;
		if (st == 0)
			return 0;
		if (vn_virtio_now_ms() > deadline)
			return vn_err(-ETIMEDOUT,
				      "virtio: device did not finish reset within %d ms (status 0x%02x)",
				      VN_VIRTIO_RESET_TIMEOUT_MS, st);
		vn_virtio_pause();
	}
}

static int add_status(struct vn_vtr *t, uint8_t bits)
{
	uint8_t st;
	int rc = t->ops->get_status(t, &st);

	/* virtio 1.2 §3.1.1: each step sets a bit, keeping those already set. */
	return rc ? rc : t->ops->set_status(t, (uint8_t)(st | bits));
}

static const char *feature_name(unsigned bit)
{
	switch (bit) {
	case VIRTIO_F_VERSION_1: return "VIRTIO_F_VERSION_1";
	case VIRTIO_F_ACCESS_PLATFORM: return "VIRTIO_F_ACCESS_PLATFORM";
	case VIRTIO_F_RING_PACKED: return "VIRTIO_F_RING_PACKED (ring=packed)";
	default: return "feature";
	}
}

static int fail(struct vn_vtr *t, int err)
{
	/* virtio 1.2 §3.1.1: on an unrecoverable error the driver sets FAILED. */
	(void)add_status(t, VIRTIO_CONFIG_S_FAILED);
	return err;
}

int vn_virtio_offered(struct vn_vtr *t, uint64_t *offered)
{
	/* virtio 1.2 §3.1.1 steps 2-4. */
	int rc = add_status(t, VIRTIO_CONFIG_S_ACKNOWLEDGE);

	if (!rc)
		rc = add_status(t, VIRTIO_CONFIG_S_DRIVER);
	if (!rc)
		rc = t->ops->get_features(t, offered);
	return rc ? fail(t, rc) : 0;
}

int vn_virtio_accept(struct vn_vtr *t, uint64_t offered, uint64_t required, uint64_t accept)
{
	uint64_t missing = required & ~offered;
	uint8_t st;
	int rc;

	if (missing) {
		unsigned bit = (unsigned)__builtin_ctzll(missing);

		return fail(t, vn_err(-ENOTSUP,
				      "virtio: the device does not offer %s (bit %u), which libvnet requires",
				      feature_name(bit), bit));
	}
	/* virtio 1.2 §2.2.1: the driver MUST NOT accept a feature not offered. */
	accept = (accept | required) & offered;
	rc = t->ops->set_features(t, accept);
	if (!rc)
		rc = add_status(t, VIRTIO_CONFIG_S_FEATURES_OK);
	if (!rc)
		rc = t->ops->get_status(t, &st);
	if (rc)
		return fail(t, rc);
	/* virtio 1.2 §3.1.1 step 6: re-read; FEATURES_OK still clear = refused. */
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail(t, vn_err(-ENOTSUP,
				      "virtio: the device refused FEATURES_OK for features 0x%016llx",
				      (unsigned long long)accept));
	return 0;
}

int vn_virtio_driver_ok(struct vn_vtr *t)
{
	return add_status(t, VIRTIO_CONFIG_S_DRIVER_OK);
}

static int read_once(struct vn_vtr *t, uint32_t off, void *buf, size_t len)
{
	if (len == 1 || len == 2 || len == 4)
		return t->ops->cfg_read(t, off, buf, len);
	for (size_t i = 0; i < len; i++) {
		int rc = t->ops->cfg_read(t, off + (uint32_t)i, (uint8_t *)buf + i, 1);

		if (rc)
			return rc;
	}
	return 0;
}

int vn_virtio_cfg_read(struct vn_vtr *t, uint32_t off, void *buf, size_t len)
{
	for (int i = 0; i < CFG_READ_TRIES; i++) {
		uint8_t before, after;
		int rc;

		/* virtio 1.2 §2.5.1 / §4.1.4.3.1: a read is consistent only if
		 * config_generation did not change across it. */
		rc = t->ops->cfg_generation(t, &before);
		if (!rc)
			rc = read_once(t, off, buf, len);
		if (!rc)
			rc = t->ops->cfg_generation(t, &after);
		if (rc)
			return rc;
		if (before == after)
			return 0;
	}
	return vn_err(-EAGAIN, "virtio: device config kept changing while being read (%d tries)",
		      CFG_READ_TRIES);
}
