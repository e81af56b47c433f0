/*
 * wopte-native: the same engine.wasm, translated to C by wasm2c, replaying a
 * bundle of frames through one port (RFD 63: one engine, several targets).
 *
 * The bundle (written by hosts/native-c/bundle.ts) carries the port config
 * block, the rule program, NAT pools, mapping entries and the frames, so the
 * C host needs no VPC compiler: it makes exactly the engine calls the Node
 * host makes. Output: one line per frame
 *   <index> <verdict> <reason> <layer> <rule> <output-hex>
 * or, with --bench N, the fast-path rate over N passes of the frames.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"

struct Z_env_instance_t { int unused; };

void Z_envZ_abort(struct Z_env_instance_t* env, u32 msg, u32 file, u32 line, u32 col) {
  (void)env; (void)msg; (void)file;
  fprintf(stderr, "engine abort at %u:%u\n", line, col);
  exit(3);
}

static Z_engine_instance_t eng;

static uint8_t* mem(void) { return eng.w2c_memory.data; }

typedef struct { const uint8_t* p; size_t n; size_t at; } reader_t;

static int need(reader_t* r, size_t k) {
  if (r->at + k > r->n) { fprintf(stderr, "bundle truncated at byte %zu\n", r->at); exit(2); }
  return 1;
}
static uint32_t u32le(reader_t* r) { need(r, 4); uint32_t v; memcpy(&v, r->p + r->at, 4); r->at += 4; return v; }
static double f64le(reader_t* r) { need(r, 8); double v; memcpy(&v, r->p + r->at, 8); r->at += 8; return v; }
static const uint8_t* bytes(reader_t* r, size_t k) { need(r, k); const uint8_t* p = r->p + r->at; r->at += k; return p; }

/* Copy host bytes into engine memory (the engine's own allocator). */
static u32 put(const uint8_t* b, u32 n) {
  u32 ptr = Z_engineZ_alloc(&eng, n);
  memcpy(mem() + ptr, b, n);
  return ptr;
}

static void check(const char* what, u32 r) {
  if (r != 0) { fprintf(stderr, "%s failed: reason %u\n", what, r); exit(2); }
}

typedef struct { uint8_t dir; double t; u32 len; const uint8_t* data; } frame_t;

#define SLOTS 64
#define SLOT_SIZE 2304
#define HEADROOM 128
#define DESC 32

static void wr16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }
static void wr32(uint8_t* p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t rd16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }

int main(int argc, char** argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s <bundle> [--bench N]\n", argv[0]); return 2; }
  long bench = (argc >= 4 && strcmp(argv[2], "--bench") == 0) ? atol(argv[3]) : 0;
  FILE* f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 2; }
  fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
  uint8_t* buf = malloc((size_t)n);
  if (fread(buf, 1, (size_t)n, f) != (size_t)n) { perror("read"); return 2; }
  fclose(f);
  reader_t r = { buf, (size_t)n, 0 };
  if (memcmp(bytes(&r, 4), "WOPB", 4) != 0 || u32le(&r) != 1) { fprintf(stderr, "not a version 1 bundle\n"); return 2; }

  wasm_rt_init();
  Z_engine_init_module();
  Z_engine_instantiate(&eng, NULL);

  u32 cfgLen = u32le(&r); const uint8_t* cfg = bytes(&r, cfgLen);
  u32 progLen = u32le(&r); const uint8_t* prog = bytes(&r, progLen);
  u32 p = put(cfg, cfgLen); check("portCreate", Z_engineZ_portCreate(&eng, 0, p, cfgLen));
  u32 pools = u32le(&r);
  for (u32 i = 0; i < pools; i++) {
    u32 id = u32le(&r); const uint8_t* ip = bytes(&r, 16); u32 lo = u32le(&r), hi = u32le(&r);
    check("portSetNatPool", Z_engineZ_portSetNatPool(&eng, 0, id, put(ip, 16), lo, hi));
  }
  p = put(prog, progLen); check("portLoadProgram", Z_engineZ_portLoadProgram(&eng, 0, p, progLen));
  u32 maps = u32le(&r);
  for (u32 i = 0; i < maps; i++) {
    u32 table = u32le(&r), vni = u32le(&r); const uint8_t* key = bytes(&r, 16);
    u32 lo = u32le(&r), hi = u32le(&r), encapVni = u32le(&r); const uint8_t* under = bytes(&r, 16);
    u32 macHi = u32le(&r), macLo = u32le(&r);
    u32 k = put(key, 16), u = put(under, 16);
    if ((int32_t)Z_engineZ_mapSet(&eng, table, vni, k, lo, hi, encapVni, u, macHi, macLo) < 0) { fprintf(stderr, "mapSet failed\n"); return 2; }
  }
  u32 meters = u32le(&r);
  for (u32 i = 0; i < meters; i++) {
    u32 meter = u32le(&r), dir = u32le(&r); double rate = f64le(&r), burst = f64le(&r);
    check("portSetMeter", Z_engineZ_portSetMeter(&eng, 0, meter, dir, rate, burst, 0));
  }
  check("portSetState", Z_engineZ_portSetState(&eng, 0, 2));
  u32 count = u32le(&r);
  frame_t* frames = calloc(count ? count : 1, sizeof(frame_t));
  for (u32 i = 0; i < count; i++) {
    frames[i].dir = (uint8_t)u32le(&r); frames[i].t = f64le(&r);
    frames[i].len = u32le(&r); frames[i].data = bytes(&r, frames[i].len);
  }

  u32 area = Z_engineZ_batchAreaNew(&eng, SLOTS * DESC + SLOTS * SLOT_SIZE);
  if (!area) { fprintf(stderr, "no batch area\n"); return 2; }
  u32 frameBase = area + SLOTS * DESC;
  /* Frames with the same timestamp go in one batch, as the Node harness does. */
  long passes = bench ? bench : 1;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long pass = 0; pass < passes; pass++) {
    for (u32 i = 0; i < count;) {
      u32 k = 0;
      double t = frames[i].t;
      while (i + k < count && k < SLOTS && frames[i + k].t == t) {
        frame_t* fr = &frames[i + k];
        u32 ptr = frameBase + k * SLOT_SIZE + HEADROOM;
        uint8_t* d = mem() + area + k * DESC;
        memcpy(mem() + ptr, fr->data, fr->len);
        wr32(d, ptr); wr16(d + 4, (uint16_t)fr->len); wr16(d + 6, SLOT_SIZE - HEADROOM);
        wr16(d + 8, HEADROOM); wr16(d + 10, 0); d[12] = fr->dir;
        k++;
      }
      Z_engineZ_processBatch(&eng, area, k, bench ? t + (double)pass : t);
      if (!bench) {
        for (u32 j = 0; j < k; j++) {
          const uint8_t* d = mem() + area + j * DESC;
          u32 outPtr = rd32(d + 20), outLen = rd16(d + 24);
          printf("%u %u %u %u %u ", i + j, d[13], d[14], d[15], rd32(d + 16));
          for (u32 b = 0; b < outLen; b++) printf("%02x", mem()[outPtr + b]);
          printf("\n");
        }
      }
      i += k;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  if (bench) {
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double pkts = (double)passes * count;
    printf("{\"packets\": %.0f, \"seconds\": %.6f, \"mpps\": %.3f, \"nsPerPacket\": %.1f}\n", pkts, s, pkts / s / 1e6, s * 1e9 / pkts);
  }
  Z_engine_free(&eng);
  free(frames);
  free(buf);
  return 0;
}
