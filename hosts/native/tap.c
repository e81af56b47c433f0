/*
 * wopte_tap: Linux TAP devices for the sled host (Node has no ioctl).
 *
 *   open(name, flags) -> { fd, name }      /dev/net/tun + TUNSETIFF (IFF_TAP | IFF_NO_PI), non-blocking
 *   startReader(fd, cb)                     a native thread polls and reads frames in batches and
 *                                           calls cb(buffer, lengths) once per batch (one JS wake-up
 *                                           for up to 64 frames, no per-packet call)
 *   write(fd, frames[]) -> written          one write(2) per frame (TAP takes one frame per write)
 *   close(fd)                               stops the reader thread, closes the device
 *
 * Errors become JS exceptions carrying errno text.
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
#include <sys/ioctl.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_MAX 65536

#define CALL(env, x) do { if ((x) != napi_ok) { napi_throw_error(env, NULL, #x " failed"); return NULL; } } while (0)

static napi_value throw_errno(napi_env env, const char* what, const char* name, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s(%s): %s", what, name ? name : "", strerror(err));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

typedef struct batch {
  uint32_t count;
  uint32_t lens[BATCH];
  size_t used;
  uint8_t* data;
} batch_t;

typedef struct reader {
  int fd;
  int wake[2];
  pthread_t thread;
  napi_threadsafe_function tsfn;
  struct reader* next;
} reader_t;

static reader_t* readers = NULL;
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;

static void* read_loop(void* arg) {
  reader_t* r = arg;
  uint8_t* frame = malloc(FRAME_MAX);
  for (;;) {
    struct pollfd p[2] = { { r->fd, POLLIN, 0 }, { r->wake[0], POLLIN, 0 } };
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) { if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) break; continue; }
    batch_t* b = calloc(1, sizeof *b);
    b->data = malloc((size_t)BATCH * 2048);
    size_t cap = (size_t)BATCH * 2048;
    while (b->count < BATCH) {
      ssize_t n = read(r->fd, frame, FRAME_MAX);
      if (n <= 0) break;
      if (b->used + (size_t)n > cap) {
        cap = (b->used + (size_t)n) * 2;
        b->data = realloc(b->data, cap);
      }
      memcpy(b->data + b->used, frame, (size_t)n);
      b->lens[b->count++] = (uint32_t)n;
      b->used += (size_t)n;
    }
    if (b->count == 0 || napi_call_threadsafe_function(r->tsfn, b, napi_tsfn_blocking) != napi_ok) {
      free(b->data);
      free(b);
    }
  }
  free(frame);
  return NULL;
}

/* On the JS thread: hand the batch to the callback as (Buffer, Uint32Array of lengths). */
static void deliver(napi_env env, napi_value cb, void* ctx, void* data) {
  batch_t* b = data;
  if (env != NULL && cb != NULL) {
    napi_value buf, lens_ab, lens, argv[2], undef;
    void* dst;
    if (napi_create_buffer_copy(env, b->used, b->data, &dst, &buf) == napi_ok &&
        napi_create_arraybuffer(env, b->count * 4, &dst, &lens_ab) == napi_ok) {
      memcpy(dst, b->lens, b->count * 4);
      napi_create_typedarray(env, napi_uint32_array, b->count, lens_ab, 0, &lens);
      argv[0] = buf; argv[1] = lens;
      napi_get_undefined(env, &undef);
      napi_call_function(env, undef, cb, 2, argv, NULL);
    }
  }
  free(b->data);
  free(b);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[IFNAMSIZ] = {0};
  size_t len = 0;
  /* measure first: the copy below would silently truncate a long name */
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || len == 0 || len >= IFNAMSIZ ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "open(name, flags?): name must be a string of at most 15 bytes");
    return NULL;
  }
  uint32_t extra = 0;
  if (argc > 1) napi_get_value_uint32(env, argv[1], &extra);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun", name, errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (extra & (IFF_VNET_HDR | IFF_MULTI_QUEUE)));
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) { int e = errno; close(fd); return throw_errno(env, "TUNSETIFF", name, e); }
  napi_value obj, v;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_create_int32(env, fd, &v));
  CALL(env, napi_set_named_property(env, obj, "fd", v));
  CALL(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
  CALL(env, napi_set_named_property(env, obj, "name", v));
  return obj;
}

static napi_value js_start_reader(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], name;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) { napi_throw_type_error(env, NULL, "startReader(fd, cb)"); return NULL; }
  reader_t* r = calloc(1, sizeof *r);
  r->fd = fd;
  if (pipe2(r->wake, O_CLOEXEC) < 0) { free(r); return throw_errno(env, "pipe", NULL, errno); }
  CALL(env, napi_create_string_utf8(env, "wopte_tap_reader", NAPI_AUTO_LENGTH, &name));
  CALL(env, napi_create_threadsafe_function(env, argv[1], NULL, name, 16, 1, NULL, NULL, NULL, deliver, &r->tsfn));
  /* the reader must not keep the process alive on its own */
  napi_unref_threadsafe_function(env, r->tsfn);
  if (pthread_create(&r->thread, NULL, read_loop, r) != 0) { free(r); napi_throw_error(env, NULL, "pthread_create failed"); return NULL; }
  pthread_mutex_lock(&readers_lock);
  r->next = readers; readers = r;
  pthread_mutex_unlock(&readers_lock);
  return NULL;
}

static napi_value js_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  uint32_t n = 0, written = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_array_length(env, argv[1], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "write(fd, frames[])");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    void* data;
    size_t len;
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok) continue;
    if (napi_get_typedarray_info(env, el, &type, &len, &data, &ab, &off) != napi_ok) continue;
    if (write(fd, data, len) == (ssize_t)len) written++;
  }
  CALL(env, napi_create_uint32(env, written, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) { napi_throw_type_error(env, NULL, "close(fd)"); return NULL; }
  pthread_mutex_lock(&readers_lock);
  reader_t** pp = &readers;
  reader_t* found = NULL;
  while (*pp) { if ((*pp)->fd == fd) { found = *pp; *pp = found->next; break; } pp = &(*pp)->next; }
  pthread_mutex_unlock(&readers_lock);
  if (found) {
    char c = 1;
    if (write(found->wake[1], &c, 1) < 0) { /* the thread also stops when the fd closes */ }
    pthread_join(found->thread, NULL);
    napi_release_threadsafe_function(found->tsfn, napi_tsfn_abort);
    close(found->wake[0]); close(found->wake[1]);
    free(found);
  }
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL },
    { "startReader", NULL, js_start_reader, NULL, NULL, NULL, napi_default, NULL },
    { "write", NULL, js_write, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
