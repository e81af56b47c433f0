// The traffic generator of bench/ovs-compare.ts: it plays the guest. It runs
// in the guest namespace and writes pre-built Ethernet frames into the
// kernel side of the guest's TAP through an AF_PACKET socket (sendmmsg,
// PACKET_QDISC_BYPASS), so whatever holds the TAP's file descriptor (the
// wopte sled host or ovs-vswitchd) reads exactly the same frames, as fast as
// it can take them. The guest's kernel stack is not involved (no routing, no
// ARP, no socket per flow): the generator costs one sendmmsg per 64 frames,
// which leaves the other CPU to the system under test.
//
//   ovs-compare-gen IFNAME SIZE FLOWS udp|tcp SECONDS SRCMAC DSTMAC SRCIP DSTIP [COUNT]
//
// Flow i (0 <= i < FLOWS) is SRCIP:(1024 + i) -> DSTIP:7000 for UDP, and a
// TCP ACK SRCIP:(1024 + i) -> DSTIP:80 for tcp (no handshake: both systems
// pick up mid-stream TCP flows). SIZE is the frame without FCS (64 = the
// minimum Ethernet frame). With COUNT, send COUNT frames (paced, 1 ms apart)
// and stop. Prints one JSON line: frames sent, seconds.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static void parse_mac(const char *s, uint8_t *m) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) { fprintf(stderr, "bad MAC %s\n", s); exit(2); }
  for (int i = 0; i < 6; i++) m[i] = (uint8_t)v[i];
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s) {
  for (size_t i = 0; i + 1 < n; i += 2) s += (uint32_t)(p[i] << 8 | p[i + 1]);
  if (n & 1) s += (uint32_t)(p[n - 1] << 8);
  return s;
}
static uint16_t fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 10) {
    fprintf(stderr, "usage: %s IFNAME SIZE FLOWS udp|tcp SECONDS SRCMAC DSTMAC SRCIP DSTIP [COUNT]\n", argv[0]);
    return 2;
  }
  const char *ifname = argv[1];
  int size = atoi(argv[2]), flows = atoi(argv[3]);
  int tcp = strcmp(argv[4], "tcp") == 0;
  double seconds = atof(argv[5]);
  long count = argc > 10 ? atol(argv[10]) : 0;
  uint8_t smac[6], dmac[6];
  parse_mac(argv[6], smac);
  parse_mac(argv[7], dmac);
  struct in_addr sip, dip;
  if (!inet_pton(AF_INET, argv[8], &sip) || !inet_pton(AF_INET, argv[9], &dip)) { fprintf(stderr, "bad IPv4 address\n"); return 2; }
  int l4 = tcp ? 20 : 8;
  if (size < 14 + 20 + l4 || size > 1514 || flows < 1 || flows > 60000) { fprintf(stderr, "bad size or flow count\n"); return 2; }

  uint8_t *frames = calloc((size_t)flows, (size_t)size);
  for (int i = 0; i < flows; i++) {
    uint8_t *f = frames + (size_t)i * size, *ip = f + 14, *l = ip + 20;
    memcpy(f, dmac, 6); memcpy(f + 6, smac, 6); f[12] = 0x08; f[13] = 0x00;
    int iplen = size - 14, l4len = iplen - 20;
    ip[0] = 0x45; ip[2] = iplen >> 8; ip[3] = iplen & 0xff;
    ip[4] = i >> 8; ip[5] = i & 0xff; ip[6] = 0x40; /* DF */ ip[8] = 64; ip[9] = tcp ? 6 : 17;
    memcpy(ip + 12, &sip, 4); memcpy(ip + 16, &dip, 4);
    uint16_t c = fold(sum16(ip, 20, 0)); ip[10] = c >> 8; ip[11] = c & 0xff;
    int sport = 1024 + i, dport = tcp ? 80 : 7000;
    l[0] = sport >> 8; l[1] = sport & 0xff; l[2] = dport >> 8; l[3] = dport & 0xff;
    for (int k = tcp ? 20 : 8; k < l4len; k++) l[k] = (uint8_t)k;
    if (tcp) {
      l[4] = 0x10; l[7] = 1;          /* seq 0x10000001 */
      l[8] = 0x20; l[11] = 1;         /* ack 0x20000001 */
      l[12] = 5 << 4; l[13] = 0x10;   /* data offset 5, ACK */
      l[14] = 0xff; l[15] = 0xff;     /* window */
    } else {
      l[4] = l4len >> 8; l[5] = l4len & 0xff;
    }
    uint32_t s = sum16(ip + 12, 8, 0) + (uint32_t)(tcp ? 6 : 17) + (uint32_t)l4len;
    c = fold(sum16(l, (size_t)l4len, s));
    if (!tcp && c == 0) c = 0xffff;
    if (tcp) { l[16] = c >> 8; l[17] = c & 0xff; } else { l[6] = c >> 8; l[7] = c & 0xff; }
  }

  int fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: transmit only, nothing is queued to us */
  if (fd < 0) { perror("socket(AF_PACKET)"); return 1; }
  struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname) };
  if (!sll.sll_ifindex) { perror(ifname); return 1; }
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one); /* straight to the TAP's xmit */

  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int k = 0; k < BATCH; k++) { msgs[k].msg_hdr.msg_iov = &iov[k]; msgs[k].msg_hdr.msg_iovlen = 1; iov[k].iov_len = (size_t)size; }
  long sent = 0, errors = 0;
  int next = 0;
  double t0 = now(), end = t0 + seconds;
  if (count > 0) {
    for (long k = 0; k < count; k++) {
      iov[0].iov_base = frames + (size_t)next * size; next = (next + 1) % flows;
      if (send(fd, iov[0].iov_base, (size_t)size, 0) == size) sent++; else errors++;
      usleep(1000);
    }
  } else {
    for (unsigned it = 1;; it++) {
      for (int k = 0; k < BATCH; k++) { iov[k].iov_base = frames + (size_t)next * size; next = next + 1 == flows ? 0 : next + 1; }
      int n = sendmmsg(fd, msgs, BATCH, 0);
      if (n > 0) sent += n; else if (errno != EINTR) errors++;
      if ((it & 15) == 0 && now() >= end) break;
    }
  }
  printf("{\"sent\":%ld,\"errors\":%ld,\"seconds\":%.3f}\n", sent, errors, now() - t0);
  return 0;
}
