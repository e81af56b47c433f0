/*
 * wopte_peer: who is on the other end of a unix socket (SO_PEERCRED, unix(7)).
 * Core Node does not expose it; the host's API records the caller's uid in
 * its audit log and refuses uids other than root and its own.
 *
 *   peerCredentials(fd) -> {pid, uid, gid}
 *       getsockopt(fd, SOL_SOCKET, SO_PEERCRED): the credentials the kernel
 *       recorded when the peer connected. Throws "SO_PEERCRED: <errno text>".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define CALL(env, x) do { if ((x) != napi_ok) { napi_throw_error(env, NULL, #x " failed"); return NULL; } } while (0)

static napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], obj, v;
  int32_t fd;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd)");
    return NULL;
  }
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "SO_PEERCRED: %s", strerror(errno));
    napi_throw_error(env, NULL, msg);
    return NULL;
  }
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_create_int64(env, cred.pid, &v));
  CALL(env, napi_set_named_property(env, obj, "pid", v));
  CALL(env, napi_create_int64(env, cred.uid, &v));
  CALL(env, napi_set_named_property(env, obj, "uid", v));
  CALL(env, napi_create_int64(env, cred.gid, &v));
  CALL(env, napi_set_named_property(env, obj, "gid", v));
  return obj;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "peerCredentials", NULL, js_peer_credentials, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
