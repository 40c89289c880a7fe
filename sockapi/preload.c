/* SPDX-License-Identifier: MIT */
/*
 * libvnet-preload.so: unmodified TAP and AF_PACKET programs on libvnet.
 *
 * NOTES (the source of libvnet-preload(8))
 *
 * Configuration (read once, at the first intercepted call or at load):
 *   VNET_PRELOAD="tap0=sim:loopback,eth9=vfio:0000:00:04.0"  interface
 *     names (< 16 bytes) mapped to device URIs. Unset or invalid: every
 *     call goes to the kernel (an invalid value prints one line
 *     "libvnet-preload: VNET_PRELOAD: ..." on stderr).
 *   VNET_PRELOAD_STRICT=1  with an invalid VNET_PRELOAD, open("/dev/net/tun")
 *     and socket(AF_PACKET) fail with EINVAL instead of going to the kernel.
 *   VNET_DEBUG=1  prints the configuration and every interception decision.
 * A device the shim opens gets the control-plane name of its interface
 * (URI option name=IFNAME, unless the URI has one), for `vnetconf link show`.
 * The control plane takes names of a-z, 0-9, '_', '.' and '-' starting with
 * a letter or '_': for others (eth0:1 is refused anyway, Tap0 is not), give
 * the URI a name= of its own. A name in use by another process's device
 * makes the attach fail with EBUSY, as a kernel interface another program
 * holds; tests that run in parallel give each its own VNET_RUN_DIR (or
 * VNET_CTL=off).
 *
 * Descriptors. Every descriptor handed to the program is a real kernel
 * descriptor at the number the program was given (so below FD_SETSIZE
 * when the program's are): open("/dev/net/tun") returns a real tun fd, or
 * when the kernel refuses it (no /dev/net/tun, EACCES) an eventfd
 * placeholder whose TUNSETIFF of an unmapped name fails with the errno of
 * the refused open. TUNSETIFF of a mapped name replaces the descriptor (and
 * its dups) by the libvnet socket's descriptor, a dup of the queue's RX
 * interrupt eventfd that is readable exactly while a frame waits: poll,
 * ppoll, select, pselect and epoll (also sets mixing shim and kernel fds)
 * are not intercepted and need not be. Shim descriptors are close-on-exec,
 * always (F_SETFD cannot clear it): the device does not survive exec.
 * Descriptors at or above 65536 are never the shim's (a dup of a shim fd
 * there fails with EMFILE). Each attached descriptor is backed by one more
 * the shim keeps (the libvnet socket) besides libvnet's own (eventfds,
 * memfd, io_uring): a program that closes descriptors it did not open
 * (close_range, closing 3..N) breaks the device. An epoll registration of
 * the tun fd made before TUNSETIFF watches the kernel's file, not the
 * device: register after TUNSETIFF or bind(), as programs do.
 *
 * Intercepted, and what they do on shim descriptors (on any other
 * descriptor, and for names that are not mapped, they go straight to libc):
 *   open, open64, openat, openat64, __open_2, __open64_2  (/dev/net/tun)
 *   close, dup, dup2, dup3, fcntl F_DUPFD/F_DUPFD_CLOEXEC: the shim follows
 *     every descriptor of a device; the last close closes the socket.
 *   fcntl F_GETFL/F_SETFL, ioctl FIONBIO: O_NONBLOCK is kept by the shim (per
 *     file description, shared by dups); the kernel object never sees it.
 *   read, __read_chk, readv, write, writev: one frame per call.
 *   ioctl TUNSETIFF, TUNGETIFF, TUNGETFEATURES, TUNSETVNETHDRSZ,
 *     TUNGETVNETHDRSZ, TUNSETOFFLOAD (0 only: no offloads yet),
 *     TUNSETPERSIST (0 only: the device cannot outlive the process),
 *     TUNSETOWNER, TUNSETGROUP (no-ops: only this process can attach anyway),
 *     TUNSETSNDBUF/TUNGETSNDBUF (no-op / INT_MAX: the ring is the buffer);
 *     any other tun ioctl on a shim TAP fd: EINVAL (as tun for unknown ones).
 *   ioctl on any descriptor, for a mapped name: SIOCGIFHWADDR, SIOCSIFHWADDR,
 *     SIOCGIFMTU, SIOCSIFMTU, SIOCGIFINDEX, SIOCGIFFLAGS, SIOCSIFFLAGS
 *     (IFF_UP, IFF_PROMISC, IFF_ALLMULTI -> vnet_dev_set_up/promisc/allmulti;
 *     other bits ignored), SIOCADDMULTI/SIOCDELMULTI (the MAC filter), and
 *     SIOCGIFNAME for a synthetic index. SIOCGIFFLAGS reports IFF_BROADCAST,
 *     IFF_MULTICAST always, IFF_UP, IFF_RUNNING (up with link), IFF_PROMISC,
 *     IFF_ALLMULTI from the device. Settings a device does not implement
 *     fail with its errno (EOPNOTSUPP). A mapped name whose device is not
 *     open (nothing attached yet): ENODEV, except SIOCGIFINDEX. No IPv4
 *     address: SIOCGIFADDR and its kind EADDRNOTAVAIL, SIOCSIFADDR and the
 *     other known interface ioctls EOPNOTSUPP (never the kernel's interface
 *     of the same name).
 *   if_nametoindex, if_indextoname, if_nameindex (the kernel's list plus the
 *     mapped names): synthetic indexes 0x7fff0001 + position in VNET_PRELOAD,
 *     stable per name, answered whether or not the device is open.
 *
 * TAP semantics. IFF_TAP is required (IFF_TUN on a mapped name: EINVAL, as
 * tun gives for a type mismatch; IFF_NAPI, IFF_NAPI_FRAGS: EINVAL;
 * IFF_TUN_EXCL: EBUSY, the interface exists). Without IFF_NO_PI each frame
 * carries struct tun_pi (flags 0 or TUN_PKT_STRIP when truncated, proto =
 * the frame's EtherType) on read, and one is expected and ignored on write.
 * IFF_VNET_HDR: a virtio_net_hdr (10 bytes, or the TUNSETVNETHDRSZ size)
 * before each frame: zero on read; on write it must ask for no offload
 * (flags 0, gso_type NONE), else EINVAL. A read buffer smaller than the
 * headers: EINVAL; a smaller frame buffer truncates (the rest of the frame
 * is dropped, as tun does). A written frame shorter than 14 bytes: EINVAL;
 * longer than MTU + 18: EMSGSIZE. A second TUNSETIFF on one fd: EEXIST.
 * Each TUNSETIFF of a name takes the next free queue pair of its device;
 * without IFF_MULTI_QUEUE only one fd may be attached (EBUSY), mixing
 * IFF_MULTI_QUEUE and not: EINVAL, no queue pair left: E2BIG (tun's errnos).
 * Unlike tun, a blocking write waits for room in the ring (tun drops), and a
 * non-blocking one fails with EAGAIN.
 *
 * AF_PACKET. socket(AF_PACKET, SOCK_RAW or SOCK_DGRAM [|SOCK_NONBLOCK|
 * SOCK_CLOEXEC], proto) makes the kernel's socket (so unbound or unmapped
 * use stays the kernel's), or when the kernel refuses (EPERM: no
 * CAP_NET_RAW) an eventfd placeholder: its calls fail with that errno until
 * it is bound to a mapped interface. bind(sockaddr_ll with a synthetic
 * ifindex; sll_protocol 0 keeps socket()'s) replaces the descriptor as
 * TUNSETIFF does; each bound socket takes a queue pair of the device (none
 * left: EBUSY) and receives what the device delivers to that queue pair:
 * sockets on one device share its traffic as queue pairs do (RSS), they do
 * not each get a copy as kernel packet sockets do, and none sees the frames
 * sent (no PACKET_OUTGOING). A second bind to another interface: EINVAL.
 *   send, sendto, sendmsg, sendmmsg, write, writev; recv, __recv_chk,
 *   recvfrom, __recvfrom_chk, recvmsg, recvmmsg, read, readv: one frame per
 *     message. SOCK_DGRAM builds the Ethernet header on send (destination:
 *     sll_addr, EtherType: sll_protocol, else the socket's; no destination:
 *     EINVAL) and strips it on receive. A destination sll_ifindex of another
 *     interface: ENXIO. MSG_DONTWAIT, MSG_TRUNC (recv: the real length, and
 *     msg_flags MSG_TRUNC when cut). MSG_PEEK: EOPNOTSUPP (the descriptor's
 *     readiness could not be kept); MSG_ERRQUEUE: EAGAIN (always empty);
 *     other receive flags: EINVAL, as af_packet.c. No ancillary
 *     data (msg_controllen 0: no PACKET_AUXDATA). recvmmsg's timeout is looked
 *     at after each frame, as the kernel does; MSG_WAITFORONE honoured.
 *   Received frames fill sockaddr_ll: sll_protocol (the frame's EtherType),
 *     sll_ifindex, sll_hatype ARPHRD_ETHER, sll_pkttype (PACKET_HOST,
 *     BROADCAST, MULTICAST or OTHERHOST against the device's MAC at bind),
 *     sll_halen 6, sll_addr the source MAC.
 *   Protocol filter: ETH_P_ALL, or one EtherType (frames of other types are
 *     consumed and counted: PACKET_STATISTICS gives tp_packets = frames
 *     received including filtered ones, tp_drops = frames filtered, and
 *     resets both; VNET_DEBUG prints each). Unlike the kernel's, the filter
 *     runs at receive time: a frame it will drop makes the descriptor
 *     readable, and a non-blocking receive that finds only such frames
 *     fails with EAGAIN (a spurious wake-up, which poll users handle).
 *   setsockopt SO_RCVTIMEO, SO_SNDTIMEO (EAGAIN on expiry, like the kernel),
 *     SO_RCVBUF, SO_SNDBUF (and *FORCE; remembered, the ring is the buffer),
 *     PACKET_ADD_MEMBERSHIP/PACKET_DROP_MEMBERSHIP of the socket's own
 *     interface: PACKET_MR_PROMISC and PACKET_MR_ALLMULTI counted per device
 *     together with the SIOCSIFFLAGS flag (the device stays promiscuous while
 *     any holds), PACKET_MR_MULTICAST/UNICAST -> the device's MAC filter (16
 *     per socket); all dropped when the socket closes. A membership of
 *     another interface: EINVAL; of an index naming none: ENODEV (as
 *     af_packet.c). Any other SOL_PACKET
 *     option (PACKET_RX_RING, PACKET_FANOUT, PACKET_AUXDATA, ...) and other
 *     SOL_SOCKET options: ENOPROTOOPT.
 *   getsockopt SO_TYPE, SO_DOMAIN, SO_PROTOCOL, SO_ERROR (0), SO_RCVBUF,
 *     SO_SNDBUF, SO_RCVTIMEO, SO_SNDTIMEO, PACKET_STATISTICS; getsockname.
 *   Before the bind, a kernel socket's options go to the kernel, and the
 *   timeouts are carried over to the device at the bind.
 *   Not intercepted on bound sockets (the eventfd answers ENOTSOCK):
 *   connect, getpeername, shutdown, listen, accept.
 *
 * Blocking calls sleep on the device's interrupts (no spinning beyond
 * VNET_BUSY_POLL_US) and fail with EINTR when a signal handler without
 * SA_RESTART runs; with SA_RESTART the sleep resumes, as a read() of tun
 * does. libvnet's waits end with EINTR whatever the handler's flags (as
 * epoll_wait does), and the shim cannot tell which signal ran: it resumes
 * when every handler the program installed has SA_RESTART, and fails with
 * EINTR when any has not.
 *
 * fork: the child's shim descriptors fail with EBADFD (reads, writes,
 * ioctls); close() in the child closes only its descriptor: the child never
 * touches the parent's device, which keeps working.
 *
 * Threads: calls on different shim descriptors run concurrently; a call on
 * a descriptor that is not the shim's costs one atomic load.
 *
 * Not intercepted: mmap, sendfile, splice, io_uring reads and writes (they
 * reach the eventfd, not the device), close_range and closefrom (which
 * would close the shim's own descriptors; avoid them before exec), pread,
 * pwrite (ESPIPE, as on tun).
 */
#include "preload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vnet/socket.h"

struct ps_real ps_real;
struct ps_config ps_cfg;

static pthread_once_t ps_once = PTHREAD_ONCE_INIT;
static int ps_state;      /* 1 configured, -1 bad config + strict, 0 off */
static int ps_dbg;
static int ps_child;      /* set in the child of fork() */
static __thread int ps_depth;

/* Descriptor -> object. Written under ps_lock; the miss is read without. */
static struct ps_obj *ps_tab[PS_FD_MAX];
static int ps_fd_hi = -1; /* highest descriptor ever tracked (ps_lock) */
static pthread_mutex_t ps_lock = PTHREAD_MUTEX_INITIALIZER;

/* Per mapped interface: its attached objects and what they hold. */
static struct ps_ifstate {
	struct ps_obj *objs;
	unsigned taps;     /* TAP descriptors attached */
	int tap_multi;     /* their IFF_MULTI_QUEUE */
} ps_ifs[PS_MAX_IFS];

/* Every signal with a handler of the program's has SA_RESTART (so the one
 * that just ran had it too). A few system calls, on EINTR only. */
static bool ps_restartable(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN &&
		    !(sa.sa_flags & SA_RESTART))
			return false;
	}
	return true;
}

ssize_t ps_recv(int s, void *buf, size_t len, int flags)
{
	ssize_t r;

	while ((r = vnet_recv(s, buf, len, flags)) < 0 && errno == EINTR &&
	       !(flags & MSG_DONTWAIT) && ps_restartable())
		;
	return r;
}

ssize_t ps_send(int s, const void *buf, size_t len, int flags)
{
	ssize_t r;

	while ((r = vnet_send(s, buf, len, flags)) < 0 && errno == EINTR &&
	       !(flags & MSG_DONTWAIT) && ps_restartable())
		;
	return r;
}

int ps_fail(int e)
{
	errno = e;
	return -1;
}

static void ps_vprint(const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "libvnet-preload: ");

	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Straight to the descriptor: no stdio lock inside an interposed call. */
	if (ps_real.write(2, line, (size_t)n) < 0) {
		/* nowhere left to say it */
	}
}

void ps_debug(const char *fmt, ...)
{
	va_list ap;

	if (!ps_dbg)
		return;
	va_start(ap, fmt);
	ps_vprint(fmt, ap);
	va_end(ap);
}

void ps_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ps_vprint(fmt, ap);
	va_end(ap);
}

static void ps_atfork_child(void)
{
	/* The child shares the parent's device memory and descriptors but not
	 * its threads: it must never drive the device. */
	ps_child = 1;
	pthread_mutex_init(&ps_lock, NULL);
}

#define RESOLVE(f) (*(void **)&ps_real.f = dlsym(RTLD_NEXT, #f))

static void ps_resolve(void)
{
	RESOLVE(open);
	RESOLVE(openat);
	RESOLVE(close);
	RESOLVE(read);
	RESOLVE(write);
	RESOLVE(readv);
	RESOLVE(writev);
	RESOLVE(ioctl);
	RESOLVE(fcntl);
	RESOLVE(dup2);
	RESOLVE(dup3);
	RESOLVE(socket);
	RESOLVE(bind);
	RESOLVE(send);
	RESOLVE(sendto);
	RESOLVE(sendmsg);
	RESOLVE(sendmmsg);
	RESOLVE(recvfrom);
	RESOLVE(recvmsg);
	RESOLVE(recvmmsg);
	RESOLVE(getsockopt);
	RESOLVE(setsockopt);
	RESOLVE(getsockname);
	RESOLVE(if_nametoindex);
	RESOLVE(if_indextoname);
	RESOLVE(if_nameindex);
	RESOLVE(if_freenameindex);
	*(void **)&ps_real.read_chk = dlsym(RTLD_NEXT, "__read_chk");
	*(void **)&ps_real.recv_chk = dlsym(RTLD_NEXT, "__recv_chk");
	*(void **)&ps_real.recvfrom_chk = dlsym(RTLD_NEXT, "__recvfrom_chk");
}

static void ps_init_once(void)
{
	const char *env = getenv("VNET_PRELOAD");
	const char *dbg = getenv("VNET_DEBUG");
	const char *strict = getenv("VNET_PRELOAD_STRICT");
	char err[PS_ERR_MAX];

	ps_resolve();
	ps_dbg = dbg && !strcmp(dbg, "1");
	if (!env) {
		ps_debug("VNET_PRELOAD is not set: every call goes to the kernel");
		return;
	}
	if (ps_config_parse((const uint8_t *)env, strlen(env), &ps_cfg, err, sizeof(err))) {
		ps_state = strict && !strcmp(strict, "1") ? -1 : 0;
		ps_warn("VNET_PRELOAD: %s; %s", err,
			ps_state ? "intercepted opens fail (VNET_PRELOAD_STRICT=1)"
				 : "running without the shim");
		return;
	}
	ps_state = 1;
	pthread_atfork(NULL, NULL, ps_atfork_child);
	for (unsigned i = 0; i < ps_cfg.n; i++)
		ps_debug("config: %s (ifindex %#x) = %s", ps_cfg.ifs[i].name,
			 (unsigned)(PS_IFINDEX_BASE + 1 + (int)i), ps_cfg.ifs[i].uri);
}

void ps_init(void)
{
	pthread_once(&ps_once, ps_init_once);
}

/* Read the configuration at load, so that a bad one is reported at start. */
__attribute__((constructor)) static void ps_ctor(void)
{
	ps_init();
}

int ps_active(void)
{
	return ps_state == 1 && !ps_depth;
}

int ps_strict_fail(void)
{
	return ps_state == -1 && !ps_depth;
}

int ps_inside(void)
{
	return ps_depth;
}

void ps_enter(void)
{
	ps_depth++;
}

void ps_leave(void)
{
	ps_depth--;
}

int ps_forked(void)
{
	return ps_child;
}

int ps_if_find(const char *name)
{
	for (unsigned i = 0; i < ps_cfg.n; i++)
		if (!strncmp(ps_cfg.ifs[i].name, name, IFNAMSIZ))
			return (int)i;
	return -1;
}

int ps_ifindex_find(int ifindex)
{
	long i = (long)ifindex - PS_IFINDEX_BASE - 1;

	return i >= 0 && i < (long)ps_cfg.n ? (int)i : -1;
}

int ps_dontwait(const struct ps_obj *o, int flags)
{
	return (flags & MSG_DONTWAIT) || __atomic_load_n(&o->nonblock, __ATOMIC_RELAXED);
}

/* ---- the descriptor table ---- */

struct ps_obj *ps_get(int fd)
{
	struct ps_obj *o;

	if ((unsigned)fd >= PS_FD_MAX || !__atomic_load_n(&ps_tab[fd], __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&ps_lock);
	o = ps_tab[fd];
	if (o)
		o->refs++;
	pthread_mutex_unlock(&ps_lock);
	return o;
}

/* Place o at fd (ps_lock held); returns the object it replaces. */
static struct ps_obj *tab_set(int fd, struct ps_obj *o)
{
	struct ps_obj *old = ps_tab[fd];

	if (o) {
		o->refs++;
		if (fd > ps_fd_hi)
			ps_fd_hi = fd;
	}
	__atomic_store_n(&ps_tab[fd], o, __ATOMIC_RELEASE);
	return old;
}

struct ps_obj *ps_tab_replace(int fd, struct ps_obj *o)
{
	struct ps_obj *old;

	if ((unsigned)fd >= PS_FD_MAX ||
	    (!o && !__atomic_load_n(&ps_tab[fd], __ATOMIC_ACQUIRE)))
		return NULL;
	pthread_mutex_lock(&ps_lock);
	old = tab_set(fd, o);
	pthread_mutex_unlock(&ps_lock);
	return old;
}

static void obj_free(struct ps_obj *o)
{
	if (o->s >= 0) {
		if (ps_child) {
			/* Only the child's copy of the descriptor. */
			ps_real.close(o->s);
		} else {
			ps_enter();
			if (o->kind == PS_PKT)
				ps_pkt_release(o);
			vnet_close(o->s);
			ps_leave();
		}
	}
	pthread_mutex_destroy(&o->rx_lock);
	pthread_mutex_destroy(&o->tx_lock);
	free(o->rxbuf);
	free(o->txbuf);
	free(o);
}

void ps_put(struct ps_obj *o)
{
	struct ps_obj **pp;

	if (!o)
		return;
	pthread_mutex_lock(&ps_lock);
	if (--o->refs) {
		pthread_mutex_unlock(&ps_lock);
		return;
	}
	if (o->ifx >= 0) {
		for (pp = &ps_ifs[o->ifx].objs; *pp && *pp != o; pp = &(*pp)->next_on_if)
			;
		if (*pp)
			*pp = o->next_on_if;
		if (o->kind == PS_TAP)
			ps_ifs[o->ifx].taps--;
		if (!ps_ifs[o->ifx].objs)
			ps_if_reset(o->ifx);
	}
	pthread_mutex_unlock(&ps_lock);
	obj_free(o);
}

int ps_track(int fd, enum ps_kind kind, int placeholder_err, struct ps_obj **out)
{
	struct ps_obj *o, *old;

	if ((unsigned)fd >= PS_FD_MAX)
		return -EMFILE;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = kind;
	o->s = -1;
	o->ifx = -1;
	o->placeholder_err = placeholder_err;
	o->vnet_hdr_sz = 10;
	pthread_mutex_init(&o->rx_lock, NULL);
	pthread_mutex_init(&o->tx_lock, NULL);
	pthread_mutex_lock(&ps_lock);
	old = tab_set(fd, o);
	pthread_mutex_unlock(&ps_lock);
	/* A stale entry: the program closed fd behind the shim's back
	 * (close_range) and the number came back. */
	ps_put(old);
	if (out)
		*out = o;
	return 0;
}

void ps_untrack(struct ps_obj *o)
{
	unsigned drop = 0;

	pthread_mutex_lock(&ps_lock);
	for (int fd = 0; fd <= ps_fd_hi; fd++)
		if (ps_tab[fd] == o) {
			__atomic_store_n(&ps_tab[fd], NULL, __ATOMIC_RELEASE);
			drop++;
		}
	/* The caller holds a reference of its own. */
	o->refs -= drop;
	pthread_mutex_unlock(&ps_lock);
}

/*
 * The URI interface ifx opens: its own with name=IFNAME added, unless it
 * has a name= already, so that the control plane (vnetconf link show)
 * calls the device what the program calls it. The parser kept the room.
 */
static void uri_named(int ifx, char *out, size_t len)
{
	const char *uri = ps_cfg.ifs[ifx].uri, *q = strchr(uri, '?');

	for (const char *p = q; p; p = strchr(p + 1, '&'))
		if (!strncmp(p + 1, "name=", 5)) {
			snprintf(out, len, "%s", uri);
			return;
		}
	snprintf(out, len, "%s%cname=%s", uri, q ? '&' : '?', ps_cfg.ifs[ifx].name);
}

/* Open a vnet socket on the first free queue pair of interface ifx. */
static int open_queue(int ifx, unsigned *qp)
{
	char uri[PS_URI_MAX];
	int err;

	uri_named(ifx, uri, sizeof(uri));
	for (unsigned q = 0;; q++) {
		int s;

		ps_enter();
		s = vnet_socket(uri, q, 0);
		ps_leave();
		if (s >= 0) {
			*qp = q;
			return s;
		}
		if (errno == EBUSY)
			continue;
		/* Past the last queue pair: every one is taken. */
		if (errno == EINVAL && q > 0)
			return -E2BIG;
		err = errno;
		ps_warn("%s: cannot open %s: %s", ps_cfg.ifs[ifx].name, uri, vnet_last_error()[0] ?
			vnet_last_error() : strerror(err));
		/* The name is another process's device: as a kernel interface
		 * another program holds, busy. */
		return err == EADDRINUSE ? -EBUSY : -err;
	}
}

/* tun's rules for one more TAP file on an interface (ps_lock held). */
static int tap_admit(const struct ps_obj *o, const struct ps_ifstate *st, int multi)
{
	if (o->kind != PS_TUN_PENDING || !st->taps)
		return 0;
	if (st->tap_multi != multi)
		return -EINVAL;
	return multi ? 0 : -EBUSY;
}

int ps_attach(struct ps_obj *o, int fd, int ifx, int multi)
{
	struct ps_ifstate *st = &ps_ifs[ifx];
	unsigned qp = 0;
	int s, err;

	pthread_mutex_lock(&ps_lock);
	err = tap_admit(o, st, multi);
	pthread_mutex_unlock(&ps_lock);
	if (err)
		return err;
	/* Opening a device takes a while: not under ps_lock. */
	s = open_queue(ifx, &qp);
	if (s < 0)
		return s;
	pthread_mutex_lock(&ps_lock);
	/* Admitted again: another thread may have attached meanwhile. The
	 * descriptor the call came on is replaced first: when that fails,
	 * nothing changed. */
	err = tap_admit(o, st, multi);
	if (!err && ps_real.dup3(s, fd, O_CLOEXEC) < 0)
		err = -errno;
	if (err) {
		pthread_mutex_unlock(&ps_lock);
		ps_enter();
		vnet_close(s);
		ps_leave();
		return err;
	}
	/* The object is the socket's before its other descriptors are: calls
	 * on them use o->s, never the descriptor itself. */
	o->s = s;
	o->ifx = ifx;
	o->kind = o->kind == PS_TUN_PENDING ? PS_TAP : PS_PKT;
	if (o->kind == PS_TAP) {
		st->taps++;
		st->tap_multi = multi;
	}
	o->next_on_if = st->objs;
	st->objs = o;
	/* Its dups are the same file description: they become the socket's
	 * too. A failure leaves that number on the kernel's object, which
	 * then only misses the readiness (its calls still reach o->s). */
	for (int d = 0; d <= ps_fd_hi; d++)
		if (d != fd && ps_tab[d] == o && ps_real.dup3(s, d, O_CLOEXEC) < 0)
			ps_debug("fd %d (dup of %d): %s", d, fd, strerror(errno));
	pthread_mutex_unlock(&ps_lock);
	ps_debug("fd %d: %s -> %s queue %u", fd, ps_cfg.ifs[ifx].name, ps_cfg.ifs[ifx].uri, qp);
	return 0;
}

int ps_if_sock(int ifx, struct ps_obj **holder)
{
	struct ps_obj *o;

	pthread_mutex_lock(&ps_lock);
	o = ps_ifs[ifx].objs;
	if (o)
		o->refs++;
	pthread_mutex_unlock(&ps_lock);
	*holder = o;
	return o ? o->s : -1;
}
