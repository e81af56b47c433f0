/*
 * wopte_tap: Linux TAP devices for the sled host, with batched I/O off the
 * JS thread (core Node has no ioctl, and a read per packet on the event loop
 * would cost a wake-up per packet).
 *
 *   openTap(name, {vnetHdr?, multiQueue?}) -> {fd, name}
 *       /dev/net/tun + TUNSETIFF (IFF_TAP | IFF_NO_PI), non-blocking fd.
 *   attach(fd, rx: Uint8Array, tx: Uint8Array, onRx: () => void) -> handle
 *       Starts one I/O thread for the device. `rx` and `tx` are views over
 *       SharedArrayBuffers laid out as vhost-style rings (hosts/io/ring.ts,
 *       virtio 1.x split-ring shape). The thread reads frames straight into
 *       RX ring buffers (the thread is the producer, JS the consumer) and
 *       writes the frames JS queued on the TX ring (JS produces, the thread
 *       consumes). onRx is called once per batch, never per packet, and at
 *       most one call is pending at a time.
 *   kick(handle)        wake the thread: for new TX frames (JS calls it only
 *                       when the used ring's NO_NOTIFY flag is clear, i.e.
 *                       the thread is about to sleep: virtio's notification
 *                       suppression, §2.7.10), and for RX buffers given back
 *                       while the RX avail ring's WAITING flag is set
 *
 * A full RX ring is backpressure, not loss in here: the thread stops reading
 * and leaves frames in the TAP's own queue (the kernel drops there, counted
 * as the interface's tx_dropped) until JS gives buffers back. Reading frames
 * only to drop them cost two thirds of the reader's CPU at 64 B.
 *   stats(handle)       native counters
 *   close(handle)       stop the thread, close the fd (idempotent)
 *
 * Errors become JS exceptions carrying errno text: "openTap(wg0): Operation
 * not permitted".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define BATCH 64             /* frames per read or write burst */
#define SCRATCH 65536        /* catches the tail of a frame too big for a ring buffer */
#define VNET_HDR_LEN 12      /* virtio 1.0 virtio_net_hdr, with num_buffers */
#define USED_F_NO_NOTIFY 1u  /* VRING_USED_F_NO_NOTIFY */
#define AVAIL_F_WAITING 0x8000u /* ours, RX avail.flags: the reader waits for buffers; kick when some come back */

#define CALL(env, x) do { if ((x) != napi_ok) { napi_throw_error(env, NULL, #x " failed"); return NULL; } } while (0)
#define SEQ __ATOMIC_SEQ_CST

static napi_value throw_errno(napi_env env, const char* what, const char* name, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s(%s): %s", what, name ? name : "", strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* ---- the ring, as laid out by ringLayout() in hosts/io/ring.ts ---- */

typedef struct ring {
  uint8_t* base;
  size_t bytes;
  uint32_t size, buf_size, desc, avail, used, bufs;
  /* producer side */
  uint16_t avail_head, used_seen;
  uint32_t* free_ids;
  uint32_t nfree;
  /* consumer side */
  uint16_t avail_seen, used_head;
} ring_t;

static int ring_init(ring_t* r, uint8_t* base, size_t bytes) {
  memset(r, 0, sizeof *r);
  if (bytes < 16) return -1;
  uint32_t size = ((uint32_t*)base)[0], buf = ((uint32_t*)base)[1];
  if (size < 2 || size > 32768 || (size & (size - 1)) || buf < 64 || buf % 8) return -1;
  r->base = base; r->bytes = bytes; r->size = size; r->buf_size = buf;
  r->desc = 16;
  r->avail = r->desc + size * 16;
  r->used = (r->avail + 4 + 2 * size + 7) & ~7u;
  r->bufs = (r->used + 4 + 8 * size + 63) & ~63u;
  if ((size_t)r->bufs + (size_t)size * buf > bytes) return -1;
  r->free_ids = malloc(size * sizeof *r->free_ids);
  if (!r->free_ids) return -1;
  for (uint32_t i = 0; i < size; i++) r->free_ids[r->nfree++] = size - 1 - i;
  return 0;
}

static inline uint32_t* word(ring_t* r, uint32_t off) { return (uint32_t*)(r->base + off); }
static inline uint16_t load_idx(ring_t* r, uint32_t off) { return (uint16_t)(__atomic_load_n(word(r, off), SEQ) >> 16); }
static inline uint32_t rd32(ring_t* r, uint32_t off) { uint32_t v; memcpy(&v, r->base + off, 4); return v; }
static inline void wr32(ring_t* r, uint32_t off, uint32_t v) { memcpy(r->base + off, &v, 4); }
static inline uint16_t rd16(ring_t* r, uint32_t off) { uint16_t v; memcpy(&v, r->base + off, 2); return v; }
static inline void wr16(ring_t* r, uint32_t off, uint16_t v) { memcpy(r->base + off, &v, 2); }

/* producer: take back the descriptors the consumer has used */
static void ring_reclaim(ring_t* r) {
  uint16_t used = load_idx(r, r->used);
  while (r->used_seen != used) {
    uint32_t id = rd32(r, r->used + 4 + 8 * (r->used_seen & (r->size - 1)));
    if (id < r->size && r->nfree < r->size) r->free_ids[r->nfree++] = id;
    r->used_seen++;
  }
}

/* ---- one device ---- */

typedef struct device {
  int fd, efd;
  char name[IFNAMSIZ];
  napi_env env;
  pthread_t thread;
  int running, closed;
  int stop, pending;            /* atomics */
  int rx_full;                  /* the reader thread found no free RX buffer */
  napi_threadsafe_function tsfn;
  napi_ref rx_ref, tx_ref;      /* keep the shared memory alive while the thread uses it */
  ring_t rx, tx;
  uint8_t* scratch;
  /* counters, atomics */
  uint64_t rx_frames, rx_bytes, rx_notifies, rx_full_waits, rx_too_big, rx_errors;
  uint64_t tx_frames, tx_bytes, tx_errors, tx_kicks, wakeups;
} device_t;

#define ADD(field, n) __atomic_add_fetch(&d->field, (n), __ATOMIC_RELAXED)

static void notify_js(device_t* d) {
  int expected = 0;
  if (__atomic_compare_exchange_n(&d->pending, &expected, 1, 0, SEQ, SEQ)) {
    ADD(rx_notifies, 1);
    if (napi_call_threadsafe_function(d->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok) __atomic_store_n(&d->pending, 0, SEQ);
  }
}

/* Read up to BATCH frames into the RX ring. Returns frames read (dropped ones included). */
static int rx_burst(device_t* d) {
  ring_t* r = &d->rx;
  int n = 0, queued = 0;
  while (n < BATCH) {
    if (r->nfree == 0) ring_reclaim(r);
    if (r->nfree == 0) { d->rx_full = 1; break; }  /* backpressure: the frames stay in the TAP's queue */
    uint32_t id = r->free_ids[r->nfree - 1];
    struct iovec iov[2];
    int iovcnt = 0;
    iov[iovcnt].iov_base = r->base + r->bufs + (size_t)id * r->buf_size; iov[iovcnt++].iov_len = r->buf_size;
    iov[iovcnt].iov_base = d->scratch; iov[iovcnt++].iov_len = SCRATCH;
    ssize_t got = readv(d->fd, iov, iovcnt);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) ADD(rx_errors, 1);
      break;
    }
    n++;
    if ((size_t)got > r->buf_size) { ADD(rx_too_big, 1); continue; }       /* the tail went to scratch */
    r->nfree--;
    uint32_t dsc = r->desc + id * 16;
    wr32(r, dsc, r->bufs + id * r->buf_size);
    wr32(r, dsc + 8, (uint32_t)got);
    wr16(r, dsc + 12, 0);
    wr16(r, r->avail + 4 + 2 * (r->avail_head & (r->size - 1)), (uint16_t)id);
    r->avail_head++;
    queued++;
    ADD(rx_frames, 1);
    ADD(rx_bytes, (uint64_t)got);
  }
  if (queued) {
    __atomic_store_n(word(r, r->avail), (uint32_t)r->avail_head << 16, SEQ);
    notify_js(d);
  }
  return n;
}

/* Write up to BATCH frames that JS queued on the TX ring. Returns frames taken. */
static int tx_burst(device_t* d, uint32_t flags) {
  ring_t* r = &d->tx;
  uint16_t avail = load_idx(r, r->avail);
  int n = 0;
  while (r->avail_seen != avail && n < BATCH) {
    uint16_t id = rd16(r, r->avail + 4 + 2 * (r->avail_seen & (r->size - 1)));
    uint32_t len = 0;
    if (id < r->size) {
      uint32_t dsc = r->desc + id * 16;
      uint32_t at = rd32(r, dsc);
      len = rd32(r, dsc + 8);
      if ((size_t)at + len <= r->bytes && at >= r->bufs) {
        ssize_t w;
        do { w = write(d->fd, r->base + at, len); } while (w < 0 && errno == EINTR);
        if (w == (ssize_t)len) { ADD(tx_frames, 1); ADD(tx_bytes, len); } else ADD(tx_errors, 1);
      } else ADD(tx_errors, 1);
    } else ADD(tx_errors, 1);
    uint32_t slot = r->used + 4 + 8 * (r->used_head & (r->size - 1));
    wr32(r, slot, id);
    wr32(r, slot + 4, len);
    r->used_head++;
    r->avail_seen++;
    n++;
  }
  if (n) __atomic_store_n(word(r, r->used), ((uint32_t)r->used_head << 16) | flags, SEQ);
  return n;
}

static void* io_loop(void* arg) {
  device_t* d = arg;
  ring_t* tx = &d->tx;
  int fd_ok = 1;
  __atomic_store_n(word(tx, tx->used), ((uint32_t)tx->used_head << 16) | USED_F_NO_NOTIFY, SEQ);
  while (!__atomic_load_n(&d->stop, SEQ)) {
    int busy = tx_burst(d, USED_F_NO_NOTIFY);
    if (fd_ok) busy += rx_burst(d);
    if (busy) continue;
    /* about to sleep: ask for kicks, then look once more so no kick is lost */
    __atomic_store_n(word(tx, tx->used), ((uint32_t)tx->used_head << 16), SEQ);
    if (load_idx(tx, tx->avail) != tx->avail_seen || __atomic_load_n(&d->stop, SEQ)) {
      __atomic_store_n(word(tx, tx->used), ((uint32_t)tx->used_head << 16) | USED_F_NO_NOTIFY, SEQ);
      continue;
    }
    /* RX ring full: ask JS for a kick when it gives buffers back, then look
     * once more so a give-back that raced the flag is not missed */
    ring_t* rx = &d->rx;
    int full = d->rx_full;
    if (full) {
      ADD(rx_full_waits, 1);
      __atomic_store_n(word(rx, rx->avail), ((uint32_t)rx->avail_head << 16) | AVAIL_F_WAITING, SEQ);
      ring_reclaim(rx);
      if (rx->nfree > 0) {
        __atomic_store_n(word(rx, rx->avail), (uint32_t)rx->avail_head << 16, SEQ);
        __atomic_store_n(word(tx, tx->used), ((uint32_t)tx->used_head << 16) | USED_F_NO_NOTIFY, SEQ);
        d->rx_full = 0;
        continue;
      }
    }
    struct pollfd p[2] = { { d->efd, POLLIN, 0 }, { d->fd, POLLIN, 0 } };
    /* while full, only the eventfd can help (the fd would be readable at once); 10 ms is a safety net */
    int rc = poll(p, fd_ok && !full ? 2 : 1, full ? 10 : -1);
    __atomic_store_n(word(tx, tx->used), ((uint32_t)tx->used_head << 16) | USED_F_NO_NOTIFY, SEQ);
    if (full) {
      __atomic_store_n(word(rx, rx->avail), (uint32_t)rx->avail_head << 16, SEQ);
      d->rx_full = 0;
    }
    if (rc < 0) continue;
    ADD(wakeups, 1);
    if (p[0].revents & POLLIN) { uint64_t v; if (read(d->efd, &v, sizeof v) < 0) { /* already drained */ } }
    /* the interface was deleted under us: keep serving close() and TX, stop polling the fd */
    if (fd_ok && (p[1].revents & (POLLERR | POLLHUP | POLLNVAL))) { fd_ok = 0; ADD(rx_errors, 1); }
  }
  /* flush what JS queued before close() */
  while (tx_burst(d, USED_F_NO_NOTIFY) > 0) {}
  return NULL;
}

/* On the JS thread: one call per batch; the rings hold the frames. */
static void deliver(napi_env env, napi_value cb, void* ctx, void* data) {
  device_t* d = ctx;
  if (env == NULL || cb == NULL) return;
  __atomic_store_n(&d->pending, 0, SEQ);  /* before JS drains: frames pushed after this ring again */
  if (d->closed) return;
  napi_value undef;
  napi_get_undefined(env, &undef);
  if (napi_call_function(env, undef, cb, 0, NULL, NULL) != napi_ok) {
    /* the listener threw: surface it as an uncaught exception, as an event emitter would */
    bool pending = false;
    napi_value err;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending && napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

static void device_stop(device_t* d, int from_cleanup) {
  if (d->closed) return;
  d->closed = 1;
  if (d->running) {
    __atomic_store_n(&d->stop, 1, SEQ);
    uint64_t one = 1;
    if (write(d->efd, &one, sizeof one) < 0) { /* the counter is full: the thread is awake anyway */ }
    pthread_join(d->thread, NULL);
    d->running = 0;
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_abort);
  }
  if (!from_cleanup) {
    if (d->rx_ref) napi_delete_reference(d->env, d->rx_ref);
    if (d->tx_ref) napi_delete_reference(d->env, d->tx_ref);
  }
  d->rx_ref = d->tx_ref = NULL;
  close(d->fd);
  if (d->efd >= 0) close(d->efd);
  free(d->rx.free_ids); free(d->tx.free_ids); free(d->scratch);
  d->rx.free_ids = d->tx.free_ids = NULL; d->scratch = NULL;
}

/* the env (main thread or a worker) is going away without close(): stop the thread */
static void cleanup_hook(void* arg) { device_stop(arg, 1); }

static void finalize_device(napi_env env, void* data, void* hint) {
  device_t* d = data;
  if (!d->closed) { napi_remove_env_cleanup_hook(env, cleanup_hook, d); device_stop(d, 0); }
  free(d);
}

static device_t* get_device(napi_env env, napi_value v) {
  device_t* d = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, (void**)&d) != napi_ok) return NULL;
  return d;
}

/* ---- JS entry points ---- */

static int get_bool(napi_env env, napi_value obj, const char* key) {
  bool has = false, v = false;
  napi_value x;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, &x) != napi_ok) return 0;
  if (napi_get_value_bool(env, x, &v) != napi_ok) return 0;
  return v;
}

static napi_value js_open_tap(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  size_t len = 0;
  /* measure first: the copy below would silently truncate a long name */
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len >= IFNAMSIZ ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "openTap(name, flags?): name must be a string of at most 15 bytes");
    return NULL;
  }
  short extra = 0;
  napi_valuetype t = napi_undefined;
  if (argc > 1) napi_typeof(env, argv[1], &t);
  if (t == napi_object) {
    if (get_bool(env, argv[1], "vnetHdr")) extra |= IFF_VNET_HDR;
    if (get_bool(env, argv[1], "multiQueue")) extra |= IFF_MULTI_QUEUE;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "openTap", name, errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | extra);
  memcpy(ifr.ifr_name, name, len);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, "openTap", name, e); }
  if (extra & IFF_VNET_HDR) {
    int hdr = VNET_HDR_LEN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) { int e = errno; close(fd); return throw_errno(env, "openTap", name, e); }
  }
  napi_value obj, v;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_create_int32(env, fd, &v));
  CALL(env, napi_set_named_property(env, obj, "fd", v));
  CALL(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
  CALL(env, napi_set_named_property(env, obj, "name", v));
  return obj;
}

static int ring_arg(napi_env env, napi_value v, ring_t* r, napi_ref* ref) {
  napi_typedarray_type type;
  size_t len, off;
  void* data;
  napi_value ab;
  bool is_ta = false;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return -1;
  if (napi_get_typedarray_info(env, v, &type, &len, &data, &ab, &off) != napi_ok || type != napi_uint8_array || data == NULL) return -1;
  if (((uintptr_t)data & 7) != 0) return -1;
  if (ring_init(r, data, len) != 0) return -1;
  if (napi_create_reference(env, v, 1, ref) != napi_ok) { free(r->free_ids); r->free_ids = NULL; return -1; }
  return 0;
}

static napi_value js_attach(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], res_name, handle;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  napi_valuetype cbt = napi_undefined;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_typeof(env, argv[3], &cbt) != napi_ok || cbt != napi_function) {
    napi_throw_type_error(env, NULL, "attach(fd, rx: Uint8Array, tx: Uint8Array, onRx: () => void)");
    return NULL;
  }
  device_t* d = calloc(1, sizeof *d);
  if (!d) { napi_throw_error(env, NULL, "attach: out of memory"); return NULL; }
  d->fd = fd; d->efd = -1; d->env = env;
  if (ring_arg(env, argv[1], &d->rx, &d->rx_ref) != 0 || ring_arg(env, argv[2], &d->tx, &d->tx_ref) != 0) {
    if (d->rx_ref) napi_delete_reference(env, d->rx_ref);
    free(d->rx.free_ids); free(d->tx.free_ids); free(d);
    napi_throw_type_error(env, NULL, "attach: rx and tx must be Uint8Arrays over whole rings made by createRing()");
    return NULL;
  }
  d->scratch = malloc(SCRATCH);
  d->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->efd < 0 || !d->scratch) {
    int e = errno;
    napi_delete_reference(env, d->rx_ref); napi_delete_reference(env, d->tx_ref);
    if (d->efd >= 0) close(d->efd);
    free(d->rx.free_ids); free(d->tx.free_ids); free(d->scratch); free(d);
    return throw_errno(env, "attach", NULL, e ? e : ENOMEM);
  }
  CALL(env, napi_create_string_utf8(env, "wopte_tap_io", NAPI_AUTO_LENGTH, &res_name));
  CALL(env, napi_create_threadsafe_function(env, argv[3], NULL, res_name, 0, 1, NULL, NULL, d, deliver, &d->tsfn));
  /* the device must not keep the process alive on its own */
  napi_unref_threadsafe_function(env, d->tsfn);
  if (pthread_create(&d->thread, NULL, io_loop, d) != 0) {
    napi_release_threadsafe_function(d->tsfn, napi_tsfn_abort);
    napi_delete_reference(env, d->rx_ref); napi_delete_reference(env, d->tx_ref);
    close(d->efd);
    free(d->rx.free_ids); free(d->tx.free_ids); free(d->scratch); free(d);
    napi_throw_error(env, NULL, "attach: pthread_create failed");
    return NULL;
  }
  d->running = 1;
  napi_add_env_cleanup_hook(env, cleanup_hook, d);
  CALL(env, napi_create_external(env, d, finalize_device, NULL, &handle));
  return handle;
}

/* The device handle that is a call's only argument, or NULL with a TypeError thrown saying `usage`. */
static device_t* handle_arg(napi_env env, napi_callback_info info, const char* usage) {
  size_t argc = 1;
  napi_value argv[1];
  device_t* d = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc) d = get_device(env, argv[0]);
  if (!d) napi_throw_type_error(env, NULL, usage);
  return d;
}

static napi_value js_kick(napi_env env, napi_callback_info info) {
  device_t* d = handle_arg(env, info, "kick(handle)");
  if (!d) return NULL;
  if (!d->closed) {
    uint64_t one = 1;
    ADD(tx_kicks, 1);
    if (write(d->efd, &one, sizeof one) < 0) { /* counter saturated: the thread wakes anyway */ }
  }
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value obj, v;
  device_t* d = handle_arg(env, info, "stats(handle)");
  if (!d) return NULL;
  CALL(env, napi_create_object(env, &obj));
#define STAT(key, field) CALL(env, napi_create_double(env, (double)__atomic_load_n(&d->field, __ATOMIC_RELAXED), &v)); \
                         CALL(env, napi_set_named_property(env, obj, key, v));
  STAT("rxFrames", rx_frames) STAT("rxBytes", rx_bytes) STAT("rxNotifies", rx_notifies) STAT("rxFullWaits", rx_full_waits)
  STAT("rxTooBig", rx_too_big) STAT("rxErrors", rx_errors) STAT("txFrames", tx_frames) STAT("txBytes", tx_bytes)
  STAT("txErrors", tx_errors) STAT("txKicks", tx_kicks) STAT("wakeups", wakeups)
#undef STAT
  return obj;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  device_t* d = argc ? get_device(env, argv[0]) : NULL;
  if (d) {
    if (!d->closed) napi_remove_env_cleanup_hook(env, cleanup_hook, d);
    device_stop(d, 0);
    return NULL;
  }
  /* a bare fd from openTap() that was never attached */
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) { napi_throw_type_error(env, NULL, "close(handle | fd)"); return NULL; }
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "openTap", NULL, js_open_tap, NULL, NULL, NULL, napi_default, NULL },
    { "attach", NULL, js_attach, NULL, NULL, NULL, napi_default, NULL },
    { "kick", NULL, js_kick, NULL, NULL, NULL, napi_default, NULL },
    { "stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
