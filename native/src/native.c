/*
 * GAN Studio native CPU kernels (Node-API, C).
 *
 * Convolutions of NHWC tensors with [KH, KW, Cin, Cout] filters, computed as matrix products
 * by OpenBLAS's sgemm over an im2col matrix: one row per output position (n, oh, ow), one
 * column per filter tap (kh, kw, ci), so that
 *
 *   forward          y[M, Cout]  = col[M, K] * W[K, Cout]                  (K = KH*KW*Cin)
 *   input gradient   dcol[M, K]  = dy[M, Cout] * W^T, then col2im adds dcol's entries back
 *                                  into dx at the input positions they were read from
 *   filter gradient  dW[K, Cout] = col^T * dy[M, Cout]
 *
 * The tensors are not copied: JavaScript passes a typed array over the tfjs wasm backend's
 * memory (a SharedArrayBuffer with threads, an ArrayBuffer without) and byte offsets of the
 * operands in it; results are written in place into outputs allocated by the backend. Every
 * operand's extent is checked against the memory's length before anything is touched.
 *
 * The im2col matrix is built a few images at a time (about SCRATCH_FLOATS floats), in a scratch
 * buffer that belongs to the calling JavaScript environment (a worker thread has its own).
 */
#define _POSIX_C_SOURCE 200809L /* sigset_t, pthread_sigmask */
#include <cblas.h>
#include <math.h>
#include <signal.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Declared by OpenBLAS's cblas.h; repeated so that the intent is visible here. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);

#define SCRATCH_FLOATS ((size_t)8 << 20) /* 32 MiB of im2col rows per chunk, at least one image */

/*
 * The element-wise kernels' loops are built twice, for AVX2 + FMA (x86-64-v3) and for the baseline,
 * and the dynamic loader picks the one this CPU runs (GCC's function multiversioning). The addon
 * itself is built for the baseline, so that it loads on any x86-64. With AVX2 the batch-norm
 * passes take ~35% less time (a 32x32x128 batch of 128: backward 5.3 -> 3.5 ms).
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && defined(__linux__)
#define HOT_LOOPS __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HOT_LOOPS
#endif
/* (GCC 12 cannot clone a static function whose address is taken, the clones' symbols clash: the
   napi entry points stay single, each calling a HOT_LOOPS function with its loops.) */

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_LEAKYRELU = 3, ACT_SIGMOID = 4, ACT_ELU = 5 };

/* Layout of the Int32Array of conv parameters. */
enum {
  P_N, P_H, P_W, P_CIN, P_OH, P_OW, P_COUT, P_KH, P_KW, P_SH, P_SW, P_DH, P_DW, P_PT, P_PL, P_ACT,
  P_COUNT
};

typedef struct {
  int n, h, w, cin, oh, ow, cout, kh, kw, sh, sw, dh, dw, pt, pl, act;
} ConvParams;

struct DnnlCache;

/* Per JavaScript environment (a worker thread has its own): the im2col buffer, oneDNN's state. */
typedef struct {
  float *buf;
  size_t cap;
  struct DnnlCache *dnnl;
  double dnnl_calls, im2col_calls; /* convolutions run by each path (convStats) */
} Scratch;

static Scratch *env_state(napi_env env) {
  Scratch *s = NULL;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok) return NULL;
  return s;
}

static void count_conv(napi_env env, int by_dnnl) {
  Scratch *s = env_state(env);
  if (s == NULL) return;
  if (by_dnnl) s->dnnl_calls += 1;
  else s->im2col_calls += 1;
}

static void dnnl_cache_free(struct DnnlCache *cache);

static void scratch_finalize(napi_env env, void *data, void *hint) {
  Scratch *s = (Scratch *)data;
  if (s != NULL) {
    free(s->buf);
    dnnl_cache_free(s->dnnl);
    free(s);
  }
}

static float *scratch_get(napi_env env, size_t floats) {
  Scratch *s = NULL;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) return NULL;
  if (s->cap < floats) {
    free(s->buf);
    s->buf = (float *)malloc(floats * sizeof(float));
    s->cap = s->buf == NULL ? 0 : floats;
  }
  return s->buf;
}

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) {                                                                       \
      napi_throw_error(env, NULL, "gan-studio-native: Node-API call failed: " #call);              \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

/* The memory (any typed array over it) as bytes. */
static int get_memory(napi_env env, napi_value value, uint8_t **base, size_t *length) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t count = 0, byte_offset = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, NULL, &byte_offset) != napi_ok) return 0;
  size_t elem = 1;
  switch (type) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: elem = 1; break;
    case napi_int16_array: case napi_uint16_array: elem = 2; break;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: elem = 4; break;
    default: elem = 8; break;
  }
  *base = (uint8_t *)data;
  *length = count * elem;
  return data != NULL;
}

static int get_params(napi_env env, napi_value value, ConvParams *p) {
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, value, &type, &count, &data, NULL, NULL) != napi_ok) return 0;
  if (type != napi_int32_array || count != P_COUNT) return 0;
  const int32_t *v = (const int32_t *)data;
  p->n = v[P_N]; p->h = v[P_H]; p->w = v[P_W]; p->cin = v[P_CIN];
  p->oh = v[P_OH]; p->ow = v[P_OW]; p->cout = v[P_COUT]; p->kh = v[P_KH]; p->kw = v[P_KW];
  p->sh = v[P_SH]; p->sw = v[P_SW]; p->dh = v[P_DH]; p->dw = v[P_DW];
  p->pt = v[P_PT]; p->pl = v[P_PL]; p->act = v[P_ACT];
  if (p->n < 1 || p->h < 1 || p->w < 1 || p->cin < 1 || p->oh < 1 || p->ow < 1 || p->cout < 1 ||
      p->kh < 1 || p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->pt < 0 ||
      p->pl < 0 || p->act < ACT_LINEAR || p->act > ACT_ELU) {
    return 0;
  }
  /* Every size must fit the 32-bit wasm memory: keep products in range. */
  double x = (double)p->n * p->h * p->w * p->cin, y = (double)p->n * p->oh * p->ow * p->cout;
  double k = (double)p->kh * p->kw * p->cin * p->cout;
  return x < 1e9 && y < 1e9 && k < 1e9;
}

/* A float operand at byte offset `off` with `floats` values, inside the memory. */
static float *operand(uint8_t *base, size_t length, double off, size_t floats) {
  if (!(off >= 0) || off != floor(off) || off > (double)length) return NULL;
  size_t o = (size_t)off;
  if (o % 4 != 0 || floats > (length - o) / 4) return NULL;
  return (float *)(base + o);
}

static int get_double(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* Whether im2col would copy x unchanged: col row r is x's row r. */
static int col_is_x(const ConvParams *p) {
  if (p->pt != 0 || p->pl != 0) return 0;
  if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->oh == p->h && p->ow == p->w) return 1;
  return p->oh == 1 && p->ow == 1 && p->kh == p->h && p->kw == p->w && p->dh == 1 && p->dw == 1;
}

/* col rows of images [n0, n0 + nc). */
HOT_LOOPS static void im2col(const ConvParams *p, const float *x, int n0, int nc, float *col) {
  const size_t K = (size_t)p->kh * p->kw * p->cin;
  const size_t ci_bytes = (size_t)p->cin * sizeof(float);
  float *row = col;
  for (int n = n0; n < n0 + nc; n++) {
    const float *xn = x + (size_t)n * p->h * p->w * p->cin;
    for (int oh = 0; oh < p->oh; oh++) {
      for (int ow = 0; ow < p->ow; ow++, row += K) {
        float *dst = row;
        for (int kh = 0; kh < p->kh; kh++) {
          const int ih = oh * p->sh - p->pt + kh * p->dh;
          if (ih < 0 || ih >= p->h) {
            memset(dst, 0, (size_t)p->kw * ci_bytes);
            dst += (size_t)p->kw * p->cin;
            continue;
          }
          const float *xrow = xn + (size_t)ih * p->w * p->cin;
          for (int kw = 0; kw < p->kw; kw++, dst += p->cin) {
            const int iw = ow * p->sw - p->pl + kw * p->dw;
            if (iw < 0 || iw >= p->w) memset(dst, 0, ci_bytes);
            else memcpy(dst, xrow + (size_t)iw * p->cin, ci_bytes);
          }
        }
      }
    }
  }
}

/*
 * One dx image from its dcol rows: zeroed, then every entry added where it was read from. Inlined
 * with a constant `cin` for 1-4 channels, so that the innermost loop is unrolled instead of a
 * vector loop with its run-time checks for 1-3 values (col2im of a 3-channel 64x64 batch took
 * longer than the sgemm before it).
 */
static inline __attribute__((always_inline)) void col2im_image(const ConvParams *p, const float *row, float *dxn,
                                                               const int cin) {
  const size_t K = (size_t)p->kh * p->kw * cin;
  memset(dxn, 0, (size_t)p->h * p->w * cin * sizeof(float));
  for (int oh = 0; oh < p->oh; oh++) {
    for (int ow = 0; ow < p->ow; ow++, row += K) {
      const float *src = row;
      for (int kh = 0; kh < p->kh; kh++) {
        const int ih = oh * p->sh - p->pt + kh * p->dh;
        if (ih < 0 || ih >= p->h) {
          src += (size_t)p->kw * cin;
          continue;
        }
        float *dxrow = dxn + (size_t)ih * p->w * cin;
        for (int kw = 0; kw < p->kw; kw++, src += cin) {
          const int iw = ow * p->sw - p->pl + kw * p->dw;
          if (iw < 0 || iw >= p->w) continue;
          float *restrict d = dxrow + (size_t)iw * cin;
          const float *restrict s = src;
          for (int c = 0; c < cin; c++) d[c] += s[c];
        }
      }
    }
  }
}

/* dx images [n0, n0 + nc) from dcol's rows (the first row is image n0's). */
HOT_LOOPS static void col2im(const ConvParams *p, const float *dcol, int n0, int nc, float *dx) {
  const size_t per_image = (size_t)p->oh * p->ow * p->kh * p->kw * p->cin, dx_image = (size_t)p->h * p->w * p->cin;
  for (int n = n0; n < n0 + nc; n++) {
    const float *row = dcol + (size_t)(n - n0) * per_image;
    float *dxn = dx + (size_t)n * dx_image;
    switch (p->cin) {
      case 1: col2im_image(p, row, dxn, 1); break;
      case 2: col2im_image(p, row, dxn, 2); break;
      case 3: col2im_image(p, row, dxn, 3); break;
      case 4: col2im_image(p, row, dxn, 4); break;
      default: col2im_image(p, row, dxn, p->cin); break;
    }
  }
}

/*
 * im2col / col2im of images [n0, n0 + nc) split by images over up to `threads` threads (the
 * calling one included): every image's rows (im2col) or dx image (col2im) belong to one thread.
 * Small jobs, or a thread that cannot be started, run on the calling thread.
 */
typedef struct {
  const ConvParams *p;
  const float *src;
  float *dst;
  int n0, nc, base; /* images [n0, n0 + nc); base: the first image of the whole job */
  int to_col;       /* 1: im2col (src = x, dst = col); 0: col2im (src = dcol, dst = dx) */
} ColJob;

static void col_job_run(const ColJob *j) {
  const size_t per_image = (size_t)j->p->oh * j->p->ow * j->p->kh * j->p->kw * j->p->cin;
  if (j->to_col) im2col(j->p, j->src, j->n0, j->nc, j->dst + (size_t)(j->n0 - j->base) * per_image);
  else col2im(j->p, j->src + (size_t)(j->n0 - j->base) * per_image, j->n0, j->nc, j->dst);
}

static void *col_job_thread(void *arg) {
  col_job_run((const ColJob *)arg);
  return NULL;
}

#define MAX_COL_THREADS 8
#define MIN_PARALLEL_FLOATS ((size_t)1 << 18)

static void col_parallel(const ConvParams *p, const float *src, float *dst, int n0, int nc, int to_col) {
  const size_t per_image = (size_t)p->oh * p->ow * p->kh * p->kw * p->cin;
  int threads = openblas_get_num_threads();
  if (threads > MAX_COL_THREADS) threads = MAX_COL_THREADS;
  if (threads > nc) threads = nc;
  if (threads < 2 || per_image * (size_t)nc < MIN_PARALLEL_FLOATS) threads = 1;
  ColJob jobs[MAX_COL_THREADS];
  pthread_t ids[MAX_COL_THREADS];
  int started[MAX_COL_THREADS] = {0};
  int next = n0;
  for (int t = 0; t < threads; t++) {
    const int cnt = nc / threads + (t < nc % threads ? 1 : 0);
    jobs[t] = (ColJob){p, src, dst, next, cnt, n0, to_col};
    next += cnt;
  }
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&ids[t], NULL, col_job_thread, &jobs[t]) == 0;
  col_job_run(&jobs[0]);
  for (int t = 1; t < threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else col_job_run(&jobs[t]);
  }
}

/* Images per im2col chunk. */
static int chunk_images(const ConvParams *p) {
  const size_t per_image = (size_t)p->oh * p->ow * p->kh * p->kw * p->cin;
  size_t nc = per_image == 0 ? (size_t)p->n : SCRATCH_FLOATS / per_image;
  if (nc < 1) nc = 1;
  if (nc > (size_t)p->n) nc = (size_t)p->n;
  return (int)nc;
}

HOT_LOOPS static void apply_bias_act(const ConvParams *p, float *y, size_t rows, const float *bias, float alpha) {
  const int co = p->cout;
  for (size_t r = 0; r < rows; r++) {
    float *restrict v = y + r * co;
    if (bias != NULL) {
      for (int c = 0; c < co; c++) v[c] += bias[c];
    }
    switch (p->act) {
      case ACT_RELU: for (int c = 0; c < co; c++) v[c] = v[c] > 0.f ? v[c] : 0.f; break;
      case ACT_RELU6:
        for (int c = 0; c < co; c++) v[c] = v[c] < 0.f ? 0.f : (v[c] > 6.f ? 6.f : v[c]);
        break;
      case ACT_LEAKYRELU:
        for (int c = 0; c < co; c++) {
          const float u = v[c], scaled = alpha * u;
          v[c] = u < 0.f ? scaled : u;
        }
        break;
      case ACT_SIGMOID: for (int c = 0; c < co; c++) v[c] = 1.f / (1.f + expf(-v[c])); break;
      case ACT_ELU: for (int c = 0; c < co; c++) v[c] = v[c] > 0.f ? v[c] : expm1f(v[c]); break;
      default: break;
    }
  }
}

/* ---- oneDNN convolutions ------------------------------------------------------------------------
 *
 * Where the addon was built with oneDNN (Debian's libdnnl-dev; GAN_STUDIO_DNNL), the three
 * convolution kernels first try oneDNN's direct convolutions, which read and write NHWC in place
 * (brgconv on AVX-512: ~210-240 GFLOPS here against ~100-170 for im2col + sgemm) and only want
 * the filter in a layout of their own: it is reordered from (or, for the filter gradient, to)
 * tfjs's [KH, KW, Cin, Cout] = oneDNN's "hwio" on every call. Primitives are created once per
 * shape (JIT compilation) and cached per environment; a shape oneDNN does not take (dilation,
 * negative padding, creation failing) is remembered and runs the im2col path instead.
 * On by default; GAN_STUDIO_DNNL=0 (or false/off) in the environment keeps im2col (see dnnl_cache).
 * The addon is linked with -z nodelete (binding.gyp): oneDNN's OpenMP threads outlive the worker
 * thread that started them, and Node would otherwise unmap the addon when that worker exits.
 */
#ifdef GAN_STUDIO_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

enum { DNNL_FWD = 0, DNNL_BWD_DATA = 1, DNNL_BWD_WEIGHTS = 2 };

typedef struct DnnlEntry {
  int kind;
  ConvParams p; /* act is 0 in the key */
  int failed;
  dnnl_primitive_t prim;
  dnnl_primitive_t reorder;  /* hwio -> primitive's filter layout, or back for DNNL_BWD_WEIGHTS */
  dnnl_memory_t filter;      /* the filter in the primitive's layout (NULL: hwio itself) */
  struct DnnlEntry *next;
} DnnlEntry;

typedef struct DnnlCache {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  DnnlEntry *entries;
  int disabled;
} DnnlCache;

static void dnnl_cache_free(struct DnnlCache *cache) {
  if (cache == NULL) return;
  for (DnnlEntry *e = cache->entries, *next; e != NULL; e = next) {
    next = e->next;
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->reorder) dnnl_primitive_destroy(e->reorder);
    if (e->filter) dnnl_memory_destroy(e->filter);
    free(e);
  }
  if (cache->stream) dnnl_stream_destroy(cache->stream);
  if (cache->engine) dnnl_engine_destroy(cache->engine);
  free(cache);
}

static DnnlCache *dnnl_cache(napi_env env) {
  Scratch *s = NULL;
  if (napi_get_instance_data(env, (void **)&s) != napi_ok || s == NULL) return NULL;
  if (s->dnnl == NULL) {
    DnnlCache *c = (DnnlCache *)calloc(1, sizeof(DnnlCache));
    if (c == NULL) return NULL;
    const char *flag = getenv("GAN_STUDIO_DNNL");
    c->disabled = flag != NULL && (strcmp(flag, "0") == 0 || strcmp(flag, "off") == 0 || strcmp(flag, "false") == 0);
    if (c->disabled) return s->dnnl = c;
    if (!c->disabled && (dnnl_engine_create(&c->engine, dnnl_cpu, 0) != dnnl_success ||
                         dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags) != dnnl_success)) {
      c->disabled = 1;
    }
    s->dnnl = c;
  }
  return s->dnnl;
}

static int same_params(const ConvParams *a, const ConvParams *b) {
  return a->n == b->n && a->h == b->h && a->w == b->w && a->cin == b->cin && a->oh == b->oh && a->ow == b->ow &&
         a->cout == b->cout && a->kh == b->kh && a->kw == b->kw && a->sh == b->sh && a->sw == b->sw &&
         a->dh == b->dh && a->dw == b->dw && a->pt == b->pt && a->pl == b->pl;
}

/* The descriptors of a convolution: NHWC activations, any filter layout (or hwio). */
static int dnnl_descs(const ConvParams *p, dnnl_memory_desc_t *src, dnnl_memory_desc_t *wany,
                      dnnl_memory_desc_t *whwio, dnnl_memory_desc_t *dst, dnnl_dims_t strides,
                      dnnl_dims_t pad_l, dnnl_dims_t pad_r) {
  dnnl_dims_t sd = {p->n, p->cin, p->h, p->w}, wd = {p->cout, p->cin, p->kh, p->kw};
  dnnl_dims_t dd = {p->n, p->cout, p->oh, p->ow};
  const int pb = (p->oh - 1) * p->sh + p->kh - p->h - p->pt;
  const int pr = (p->ow - 1) * p->sw + p->kw - p->w - p->pl;
  if (p->dh != 1 || p->dw != 1 || pb < 0 || pr < 0) return 0;
  strides[0] = p->sh; strides[1] = p->sw;
  pad_l[0] = p->pt; pad_l[1] = p->pl;
  pad_r[0] = pb; pad_r[1] = pr;
  return dnnl_memory_desc_init_by_tag(src, 4, sd, dnnl_f32, dnnl_nhwc) == dnnl_success &&
         dnnl_memory_desc_init_by_tag(wany, 4, wd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
         dnnl_memory_desc_init_by_tag(whwio, 4, wd, dnnl_f32, dnnl_hwio) == dnnl_success &&
         dnnl_memory_desc_init_by_tag(dst, 4, dd, dnnl_f32, dnnl_nhwc) == dnnl_success;
}

/* Creates the primitive (and the filter reorder) of an entry; 0 where oneDNN does not take it. */
static int dnnl_build(DnnlCache *c, DnnlEntry *e) {
  dnnl_memory_desc_t src, wany, whwio, dst;
  dnnl_dims_t strides, pad_l, pad_r;
  if (!dnnl_descs(&e->p, &src, &wany, &whwio, &dst, strides, pad_l, pad_r)) return 0;
  dnnl_convolution_desc_t fwd_desc, desc;
  dnnl_primitive_desc_t fwd_pd = NULL, pd = NULL, reorder_pd = NULL;
  int ok = 0;
  if (dnnl_convolution_forward_desc_init(&fwd_desc, dnnl_forward_training, dnnl_convolution_direct, &src, &wany, NULL,
                                         &dst, strides, pad_l, pad_r) != dnnl_success ||
      dnnl_primitive_desc_create(&fwd_pd, &fwd_desc, NULL, c->engine, NULL) != dnnl_success) {
    goto done;
  }
  if (e->kind == DNNL_FWD) {
    pd = fwd_pd;
    fwd_pd = NULL;
  } else if (e->kind == DNNL_BWD_DATA) {
    if (dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &wany, &dst, strides, pad_l,
                                                 pad_r) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, c->engine, fwd_pd) != dnnl_success) {
      goto done;
    }
  } else {
    if (dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &wany, NULL, &dst, strides,
                                                    pad_l, pad_r) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &desc, NULL, c->engine, fwd_pd) != dnnl_success) {
      goto done;
    }
  }
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(
      pd, e->kind == DNNL_BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
  if (wmd == NULL || dnnl_primitive_create(&e->prim, pd) != dnnl_success) goto done;
  if (!dnnl_memory_desc_equal(wmd, &whwio)) {
    const dnnl_memory_desc_t *from = e->kind == DNNL_BWD_WEIGHTS ? wmd : &whwio;
    const dnnl_memory_desc_t *to = e->kind == DNNL_BWD_WEIGHTS ? &whwio : wmd;
    if (dnnl_memory_create(&e->filter, wmd, c->engine, DNNL_MEMORY_ALLOCATE) != dnnl_success ||
        dnnl_reorder_primitive_desc_create(&reorder_pd, from, c->engine, to, c->engine, NULL) != dnnl_success ||
        dnnl_primitive_create(&e->reorder, reorder_pd) != dnnl_success) {
      goto done;
    }
  }
  ok = 1;
done:
  if (fwd_pd) dnnl_primitive_desc_destroy(fwd_pd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
  return ok;
}

static DnnlEntry *dnnl_entry(napi_env env, DnnlCache **cache_out, int kind, const ConvParams *p) {
  DnnlCache *c = dnnl_cache(env);
  if (c == NULL || c->disabled) return NULL;
  *cache_out = c;
  ConvParams key = *p;
  key.act = 0;
  for (DnnlEntry *e = c->entries; e != NULL; e = e->next) {
    if (e->kind == kind && same_params(&e->p, &key)) return e->failed ? NULL : e;
  }
  DnnlEntry *e = (DnnlEntry *)calloc(1, sizeof(DnnlEntry));
  if (e == NULL) return NULL;
  e->kind = kind;
  e->p = key;
  if (!dnnl_build(c, e)) {
    if (e->prim) dnnl_primitive_destroy(e->prim);
    if (e->reorder) dnnl_primitive_destroy(e->reorder);
    if (e->filter) dnnl_memory_destroy(e->filter);
    e->prim = e->reorder = NULL;
    e->filter = NULL;
    e->failed = 1;
  }
  e->next = c->entries;
  c->entries = e;
  return e->failed ? NULL : e;
}

/* A memory object over a caller's buffer. */
static dnnl_memory_t dnnl_wrap(DnnlCache *c, const dnnl_memory_desc_t *md, const void *ptr) {
  dnnl_memory_t m = NULL;
  if (dnnl_memory_create(&m, md, c->engine, (void *)ptr) != dnnl_success) return NULL;
  return m;
}

/*
 * Runs one convolution with oneDNN: a = x (fwd, bwd weights) or dy (bwd data), b = the filter (fwd,
 * bwd data) or dy (bwd weights), out = y, dx or dW. Returns 1 when done, 0 to use the im2col path.
 */
/*
 * oneDNN's JIT kernels are not safe against signals: a signal delivered to a thread while one of
 * its gemm kernels runs writes the signal frame into the heap (reproduced outside GAN Studio with
 * oneDNN 2.6's dnnl_sgemm and a SIGPROF timer: heap corruption within seconds; none with the
 * signals blocked; in GAN Studio, `node --cpu-prof` aborted every run). So asynchronous signals
 * are held (blocked, and delivered once the call returns, or to another thread meanwhile) around
 * every oneDNN call, and the OpenMP threads oneDNN starts inherit that mask: they never take one.
 * Synchronous signals (a fault in the call itself) are left alone.
 */
static void hold_signals(sigset_t *old) {
  sigset_t held;
  sigfillset(&held);
  sigdelset(&held, SIGSEGV);
  sigdelset(&held, SIGBUS);
  sigdelset(&held, SIGFPE);
  sigdelset(&held, SIGILL);
  sigdelset(&held, SIGTRAP);
  pthread_sigmask(SIG_BLOCK, &held, old);
}

static void release_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

static int dnnl_conv_held(napi_env env, int kind, const ConvParams *p, const float *a, const float *b, float *out);

static int dnnl_conv(napi_env env, int kind, const ConvParams *p, const float *a, const float *b, float *out) {
  /* A gradient into 1-3 input channels (the image of a DCGAN's last transposed convolution, or of
     D's first convolution): oneDNN 2.6's jit kernel vectorises over the input channels and takes
     as long for 3 as for 16 (~10 ms for a 64x64x3 batch of 64, 2.0 ms for 28x28x1) where im2col +
     sgemm + col2im takes ~6.5 and 0.5. */
  if (kind == DNNL_BWD_DATA && p->cin <= 3) return 0;
  /* A filter as large as its input (a DCGAN's first and last layers: 1x1 -> 4x4 and 4x4 -> 1x1) is
     one matrix product, which sgemm does in 0.1-0.4 ms where oneDNN's convolutions took 0.4-2.8
     (DCGAN-64, batch 64). */
  if (col_is_x(p) && p->oh == 1 && p->ow == 1) return 0;
  sigset_t old;
  hold_signals(&old);
  const int done = dnnl_conv_held(env, kind, p, a, b, out);
  release_signals(&old);
  return done;
}

static int dnnl_conv_held(napi_env env, int kind, const ConvParams *p, const float *a, const float *b, float *out) {
  DnnlCache *c = NULL;
  DnnlEntry *e = dnnl_entry(env, &c, kind, p);
  if (e == NULL) return 0;
  dnnl_memory_desc_t src, wany, whwio, dst;
  dnnl_dims_t strides, pad_l, pad_r;
  if (!dnnl_descs(p, &src, &wany, &whwio, &dst, strides, pad_l, pad_r)) return 0;
  dnnl_memory_t m_src = NULL, m_dst = NULL, m_user_w = NULL;
  int ok = 0;
  if (kind == DNNL_FWD) {
    m_src = dnnl_wrap(c, &src, a);
    m_user_w = dnnl_wrap(c, &whwio, b);
    m_dst = dnnl_wrap(c, &dst, out);
  } else if (kind == DNNL_BWD_DATA) {
    m_dst = dnnl_wrap(c, &dst, a); /* dy */
    m_user_w = dnnl_wrap(c, &whwio, b);
    m_src = dnnl_wrap(c, &src, out); /* dx */
  } else {
    m_src = dnnl_wrap(c, &src, a);
    m_dst = dnnl_wrap(c, &dst, b); /* dy */
    m_user_w = dnnl_wrap(c, &whwio, out); /* dW */
  }
  if (m_src == NULL || m_dst == NULL || m_user_w == NULL) goto done;
  dnnl_memory_t m_w = e->filter != NULL ? e->filter : m_user_w;
  if (kind != DNNL_BWD_WEIGHTS && e->reorder != NULL) {
    dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, m_user_w}, {DNNL_ARG_TO, m_w}};
    if (dnnl_primitive_execute(e->reorder, c->stream, 2, r) != dnnl_success) goto done;
  }
  dnnl_status_t st;
  if (kind == DNNL_FWD) {
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_WEIGHTS, m_w}, {DNNL_ARG_DST, m_dst}};
    st = dnnl_primitive_execute(e->prim, c->stream, 3, args);
  } else if (kind == DNNL_BWD_DATA) {
    dnnl_exec_arg_t args[] = {{DNNL_ARG_DIFF_DST, m_dst}, {DNNL_ARG_WEIGHTS, m_w}, {DNNL_ARG_DIFF_SRC, m_src}};
    st = dnnl_primitive_execute(e->prim, c->stream, 3, args);
  } else {
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, m_src}, {DNNL_ARG_DIFF_DST, m_dst}, {DNNL_ARG_DIFF_WEIGHTS, m_w}};
    st = dnnl_primitive_execute(e->prim, c->stream, 3, args);
  }
  if (st != dnnl_success) goto done;
  if (kind == DNNL_BWD_WEIGHTS && e->reorder != NULL) {
    dnnl_exec_arg_t r[] = {{DNNL_ARG_FROM, m_w}, {DNNL_ARG_TO, m_user_w}};
    if (dnnl_primitive_execute(e->reorder, c->stream, 2, r) != dnnl_success) goto done;
  }
  ok = dnnl_stream_wait(c->stream) == dnnl_success;
done:
  if (m_src) dnnl_memory_destroy(m_src);
  if (m_dst) dnnl_memory_destroy(m_dst);
  if (m_user_w) dnnl_memory_destroy(m_user_w);
  return ok;
}

static int dnnl_set_enabled(napi_env env, int enabled) {
  DnnlCache *c = dnnl_cache(env);
  if (c == NULL) return 0;
  if (enabled && c->engine == NULL &&
      (dnnl_engine_create(&c->engine, dnnl_cpu, 0) != dnnl_success ||
       dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags) != dnnl_success)) {
    return 0;
  }
  c->disabled = !enabled;
  return enabled;
}

static const char *dnnl_version_text(void) {
  static char text[64];
  const dnnl_version_t *v = dnnl_version();
  snprintf(text, sizeof text, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
  return text;
}
#else
static void dnnl_cache_free(struct DnnlCache *cache) { (void)cache; }
static int dnnl_conv(napi_env env, int kind, const ConvParams *p, const float *a, const float *b, float *out) {
  return 0;
}
static const char *dnnl_version_text(void) { return NULL; }
static int dnnl_set_enabled(napi_env env, int enabled) { return 0; }
enum { DNNL_FWD = 0, DNNL_BWD_DATA = 1, DNNL_BWD_WEIGHTS = 2 };
#endif

/*
 * Row-major C = op(A) * op(B) + beta * C. With oneDNN built in (and not turned off) its sgemm runs
 * it, on the same OpenMP threads as the convolutions: OpenBLAS's own threads spin for a while
 * after each call and, on two cores, would take one from the next oneDNN convolution.
 */
static void sgemm(napi_env env, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                  const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
#ifdef GAN_STUDIO_DNNL
  DnnlCache *c = dnnl_cache(env);
  if (c != NULL && !c->disabled) {
    sigset_t old;
    hold_signals(&old); /* see dnnl_conv */
    const dnnl_status_t st = dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', M, N, K, alpha, A,
                                        lda, B, ldb, beta, C, ldc);
    release_signals(&old);
    if (st == dnnl_success) return;
  }
#endif
  cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/*
 * The common arguments of the three convolution kernels, (memory, offset, offset, offset,
 * params, ...), with the three operands checked against the memory and resolved to pointers.
 * Throws (and returns 0) where one is malformed.
 */
static int conv_args(napi_env env, napi_value *argv, size_t argc, size_t wanted, int kind, const char *name,
                     uint8_t **base, size_t *length, ConvParams *p, float *ops[3]) {
  char msg[160];
  const char *what = NULL;
  double off[3];
  if (argc < wanted) what = "expected more arguments";
  else if (!get_memory(env, argv[0], base, length)) what = "memory must be a typed array";
  else if (!get_params(env, argv[4], p)) what = "bad parameters";
  else if (!get_double(env, argv[1], &off[0]) || !get_double(env, argv[2], &off[1]) || !get_double(env, argv[3], &off[2])) {
    what = "offsets must be numbers";
  } else {
    /* The operands' sizes in argument order: (x, W, y), (dy, W, dx) or (x, dy, dW). */
    const size_t xs = (size_t)p->n * p->h * p->w * p->cin, ws = (size_t)p->kh * p->kw * p->cin * p->cout;
    const size_t ys = (size_t)p->n * p->oh * p->ow * p->cout;
    const size_t sizes[3][3] = {{xs, ws, ys}, {ys, ws, xs}, {xs, ys, ws}};
    for (int i = 0; i < 3; i++) {
      ops[i] = operand(*base, *length, off[i], sizes[kind][i]);
      if (ops[i] == NULL) what = "an operand lies outside the memory";
    }
  }
  if (what == NULL) return 1;
  snprintf(msg, sizeof msg, "%s: %s", name, what);
  napi_throw_range_error(env, NULL, msg);
  return 0;
}

/* conv2d(memory, xOff, filterOff, yOff, params, biasOff (< 0: none), leakyreluAlpha) */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length; ConvParams p;
  float *ops[3];
  double bo, alpha;
  if (!conv_args(env, argv, argc, 7, DNNL_FWD, "conv2d", &base, &length, &p, ops)) return NULL;
  if (!get_double(env, argv[5], &bo) || !get_double(env, argv[6], &alpha)) {
    return throw_range(env, "conv2d: offsets must be numbers");
  }
  const float *x = ops[0], *wt = ops[1];
  float *y = ops[2];
  const size_t K = (size_t)p.kh * p.kw * p.cin, rows = (size_t)p.oh * p.ow;
  const float *bias = bo < 0 ? NULL : operand(base, length, bo, (size_t)p.cout);
  if (bo >= 0 && bias == NULL) return throw_range(env, "conv2d: an operand lies outside the memory");
  const int by_dnnl = dnnl_conv(env, DNNL_FWD, &p, x, wt, y);
  count_conv(env, by_dnnl);
  if (by_dnnl) {
    /* done by oneDNN */
  } else if (col_is_x(&p)) {
    sgemm(env, CblasNoTrans, CblasNoTrans, (int)(p.n * rows), p.cout, (int)K, 1.f, x,
                (int)K, wt, p.cout, 0.f, y, p.cout);
  } else {
    const int nc = chunk_images(&p);
    float *col = scratch_get(env, (size_t)nc * rows * K);
    if (col == NULL) {
      napi_throw_error(env, "ENOMEM", "conv2d: out of memory for the im2col buffer");
      return NULL;
    }
    for (int n0 = 0; n0 < p.n; n0 += nc) {
      const int cnt = p.n - n0 < nc ? p.n - n0 : nc;
      col_parallel(&p, x, col, n0, cnt, 1);
      sgemm(env, CblasNoTrans, CblasNoTrans, (int)(cnt * rows), p.cout, (int)K, 1.f, col,
                  (int)K, wt, p.cout, 0.f, y + (size_t)n0 * rows * p.cout, p.cout);
    }
  }
  if (bias != NULL || p.act != ACT_LINEAR) apply_bias_act(&p, y, (size_t)p.n * rows, bias, (float)alpha);
  return NULL;
}

/* conv2dBackpropInput(memory, dyOff, filterOff, dxOff, params): dx has x's shape [N, H, W, Cin]. */
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length; ConvParams p;
  float *ops[3];
  if (!conv_args(env, argv, argc, 5, DNNL_BWD_DATA, "conv2dBackpropInput", &base, &length, &p, ops)) return NULL;
  const float *dy = ops[0], *wt = ops[1];
  float *dx = ops[2];
  const size_t K = (size_t)p.kh * p.kw * p.cin, rows = (size_t)p.oh * p.ow;
  const int by_dnnl = dnnl_conv(env, DNNL_BWD_DATA, &p, dy, wt, dx);
  count_conv(env, by_dnnl);
  if (by_dnnl) return NULL;
  if (col_is_x(&p)) {
    sgemm(env, CblasNoTrans, CblasTrans, (int)(p.n * rows), (int)K, p.cout, 1.f, dy, p.cout,
                wt, p.cout, 0.f, dx, (int)K);
    return NULL;
  }
  const int nc = chunk_images(&p);
  float *dcol = scratch_get(env, (size_t)nc * rows * K);
  if (dcol == NULL) {
    napi_throw_error(env, "ENOMEM", "conv2dBackpropInput: out of memory for the im2col buffer");
    return NULL;
  }
  for (int n0 = 0; n0 < p.n; n0 += nc) {
    const int cnt = p.n - n0 < nc ? p.n - n0 : nc;
    sgemm(env, CblasNoTrans, CblasTrans, (int)(cnt * rows), (int)K, p.cout, 1.f,
                dy + (size_t)n0 * rows * p.cout, p.cout, wt, p.cout, 0.f, dcol, (int)K);
    col_parallel(&p, dcol, dx, n0, cnt, 0);
  }
  return NULL;
}

/* conv2dBackpropFilter(memory, xOff, dyOff, dwOff, params): dW has the filter's shape. */
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length; ConvParams p;
  float *ops[3];
  if (!conv_args(env, argv, argc, 5, DNNL_BWD_WEIGHTS, "conv2dBackpropFilter", &base, &length, &p, ops)) return NULL;
  const float *x = ops[0], *dy = ops[1];
  float *dw = ops[2];
  const size_t K = (size_t)p.kh * p.kw * p.cin, rows = (size_t)p.oh * p.ow;
  const int by_dnnl = dnnl_conv(env, DNNL_BWD_WEIGHTS, &p, x, dy, dw);
  count_conv(env, by_dnnl);
  if (by_dnnl) return NULL;
  if (col_is_x(&p)) {
    sgemm(env, CblasTrans, CblasNoTrans, (int)K, p.cout, (int)(p.n * rows), 1.f, x, (int)K,
                dy, p.cout, 0.f, dw, p.cout);
    return NULL;
  }
  const int nc = chunk_images(&p);
  float *col = scratch_get(env, (size_t)nc * rows * K);
  if (col == NULL) {
    napi_throw_error(env, "ENOMEM", "conv2dBackpropFilter: out of memory for the im2col buffer");
    return NULL;
  }
  for (int n0 = 0; n0 < p.n; n0 += nc) {
    const int cnt = p.n - n0 < nc ? p.n - n0 : nc;
    col_parallel(&p, x, col, n0, cnt, 1);
    sgemm(env, CblasTrans, CblasNoTrans, (int)K, p.cout, (int)(cnt * rows), 1.f, col, (int)K,
                dy + (size_t)n0 * rows * p.cout, p.cout, n0 == 0 ? 0.f : 1.f, dw, p.cout);
  }
  return NULL;
}

/* ---- Element-wise, reduction and matrix-product kernels -------------------------------------- */

/* Reads argv[i] as a byte offset of a float operand of `floats` values; NULL if outside. */
static float *arg_operand(napi_env env, napi_value v, uint8_t *base, size_t length, size_t floats) {
  double off;
  if (!get_double(env, v, &off)) return NULL;
  return operand(base, length, off, floats);
}

static int get_count(napi_env env, napi_value v, size_t *out) {
  double d;
  if (!get_double(env, v, &d) || !(d >= 0) || d != floor(d) || d > 1e10) return 0;
  *out = (size_t)d;
  return 1;
}

/*
 * The arguments of an elementwise kernel, name(memory, off_1, ..., off_k, count[, scalar]): each
 * offset resolved to `count` floats of the memory (ops[0..k-1]), the optional scalar read into
 * *scalar. On a bad argument it throws a RangeError naming `usage` and returns 0.
 */
static int elementwise_args(napi_env env, napi_callback_info info, const char *name, const char *usage, size_t k,
                            float **ops, size_t *n, double *scalar) {
  napi_value argv[8];
  size_t want = k + 2 + (scalar != NULL ? 1 : 0), argc = want;
  uint8_t *base;
  size_t length;
  char msg[160];
  if (want > 8 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want || !get_memory(env, argv[0], &base, &length) || !get_count(env, argv[k + 1], n) ||
      (scalar != NULL && !get_double(env, argv[k + 2], scalar))) {
    snprintf(msg, sizeof msg, "%s: expected %s", name, usage);
    throw_range(env, msg);
    return 0;
  }
  for (size_t i = 0; i < k; i++) {
    ops[i] = arg_operand(env, argv[1 + i], base, length, *n);
    if (ops[i] == NULL) {
      snprintf(msg, sizeof msg, "%s: an operand lies outside the memory", name);
      throw_range(env, msg);
      return 0;
    }
  }
  return 1;
}

/*
 * The arguments of a kernel over a [rows, cols] matrix, name(memory, off_1, ..., off_k, rows,
 * cols): operand i resolved to rows * cols floats where sizes[i] is 'M', to cols floats where it
 * is 'C'. On a bad argument it throws a RangeError naming `usage` and returns 0.
 */
static int rows_args(napi_env env, napi_callback_info info, const char *name, const char *usage, const char *sizes,
                     float **ops, size_t *rows, size_t *cols) {
  napi_value argv[8];
  const size_t k = strlen(sizes), want = k + 3;
  size_t argc = want;
  uint8_t *base;
  size_t length;
  char msg[160];
  if (want > 8 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want || !get_memory(env, argv[0], &base, &length) || !get_count(env, argv[k + 1], rows) ||
      !get_count(env, argv[k + 2], cols) || *cols == 0 || *rows > ((size_t)1 << 32) / *cols) {
    snprintf(msg, sizeof msg, "%s: expected %s", name, usage);
    throw_range(env, msg);
    return 0;
  }
  for (size_t i = 0; i < k; i++) {
    ops[i] = arg_operand(env, argv[1 + i], base, length, sizes[i] == 'M' ? *rows * *cols : *cols);
    if (ops[i] == NULL) {
      snprintf(msg, sizeof msg, "%s: an operand lies outside the memory", name);
      throw_range(env, msg);
      return 0;
    }
  }
  return 1;
}

/*
 * The activations and their gradients element by element, as tfjs computes them (the kernels below
 * and batch norm's fused activation use these). Both values computed, then selected: branch-free,
 * so the loops vectorise.
 */
static inline float relu_one(float x) { return x < 0.f ? 0.f : x; } /* NaN stays NaN */
static inline float leaky_relu_one(float x, float a) {
  const float scaled = a * x;
  return x < 0.f ? scaled : x;
}
/* dy * step(x): dy where x > 0, dy * 0 where x <= 0, NaN where x is NaN. */
static inline float relu_grad_one(float g, float x) { return g * (x > 0.f ? 1.f : (x != x ? x : 0.f)); }
static inline float leaky_relu_grad_one(float g, float x, float a) {
  const float scaled = a * g;
  return x > 0.f ? g : scaled;
}

/* leakyRelu(memory, xOff, yOff, count, alpha): y = x < 0 ? alpha * x : x. */
HOT_LOOPS static void leaky_relu_loop(const float *x, float *y, size_t n, float a) {
  for (size_t i = 0; i < n; i++) y[i] = leaky_relu_one(x[i], a);
}

static napi_value leaky_relu(napi_env env, napi_callback_info info) {
  float *ops[2];
  size_t n;
  double alpha;
  if (!elementwise_args(env, info, "leakyRelu", "(memory, xOff, yOff, count, alpha)", 2, ops, &n, &alpha)) return NULL;
  leaky_relu_loop(ops[0], ops[1], n, (float)alpha);
  return NULL;
}

HOT_LOOPS static void leaky_relu_grad_loop(const float *dy, const float *x, float *dx, size_t n, float a) {
  for (size_t i = 0; i < n; i++) dx[i] = leaky_relu_grad_one(dy[i], x[i], a);
}

/* leakyReluGrad(memory, dyOff, xOff, dxOff, count, alpha): dx = x > 0 ? dy : alpha * dy. */
static napi_value leaky_relu_grad(napi_env env, napi_callback_info info) {
  float *ops[3];
  size_t n;
  double alpha;
  if (!elementwise_args(env, info, "leakyReluGrad", "(memory, dyOff, xOff, dxOff, count, alpha)", 3, ops, &n, &alpha)) {
    return NULL;
  }
  leaky_relu_grad_loop(ops[0], ops[1], ops[2], n, (float)alpha);
  return NULL;
}

/* sumRows(memory, xOff, yOff, rows, cols): y[c] = sum over r of x[r, c] (a sum over leading axes). */
static napi_value sum_rows(napi_env env, napi_callback_info info) {
  float *ops[2];
  size_t rows, cols;
  if (!rows_args(env, info, "sumRows", "(memory, xOff, yOff, rows, cols)", "MC", ops, &rows, &cols)) return NULL;
  const float *x = ops[0];
  float *y = ops[1];
  /* Blocks of rows summed into a float row, blocks added in double: accurate and vectorised. */
  double *acc = (double *)calloc(cols, sizeof(double));
  float *part = (float *)malloc(cols * sizeof(float));
  if (acc == NULL || part == NULL) {
    free(acc);
    free(part);
    napi_throw_error(env, "ENOMEM", "sumRows: out of memory");
    return NULL;
  }
  const size_t block = 64;
  for (size_t r0 = 0; r0 < rows; r0 += block) {
    const size_t r1 = r0 + block < rows ? r0 + block : rows;
    memcpy(part, x + r0 * cols, cols * sizeof(float));
    for (size_t r = r0 + 1; r < r1; r++) {
      const float *restrict xr = x + r * cols;
      float *restrict pp = part;
      for (size_t c = 0; c < cols; c++) pp[c] += xr[c];
    }
    for (size_t c = 0; c < cols; c++) acc[c] += part[c];
  }
  for (size_t c = 0; c < cols; c++) y[c] = (float)acc[c];
  free(acc);
  free(part);
  return NULL;
}

/* Layout of the Int32Array of matmul parameters. */
enum { MM_BATCH_A, MM_BATCH_B, MM_M, MM_N, MM_K, MM_TRANS_A, MM_TRANS_B, MM_ACT, MM_COUNT };

/*
 * matmul(memory, aOff, bOff, cOff, params, biasOff (< 0: none), alpha):
 * C[b] = op(A[b]) * op(B[b]) (+ bias[N]) (activation), for b < max(batchA, batchB); a batch of 1
 * is broadcast. A[b] is [M, K] ([K, M] when transposed), B[b] is [K, N] ([N, K] when transposed).
 */
static napi_value matmul(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length; double bo, alpha;
  if (argc < 7 || !get_memory(env, argv[0], &base, &length) || !get_double(env, argv[5], &bo) ||
      !get_double(env, argv[6], &alpha)) {
    return throw_range(env, "matmul: expected (memory, aOff, bOff, cOff, params, biasOff, alpha)");
  }
  bool is_typed = false;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[4], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[4], &type, &count, &data, NULL, NULL) != napi_ok ||
      type != napi_int32_array || count != MM_COUNT) {
    return throw_range(env, "matmul: bad parameters");
  }
  const int32_t *v = (const int32_t *)data;
  const int ba = v[MM_BATCH_A], bb = v[MM_BATCH_B], M = v[MM_M], N = v[MM_N], K = v[MM_K];
  const int ta = v[MM_TRANS_A] != 0, tb = v[MM_TRANS_B] != 0, act = v[MM_ACT];
  const int batch = ba > bb ? ba : bb;
  if (ba < 1 || bb < 1 || M < 1 || N < 1 || K < 1 || (ba != bb && ba != 1 && bb != 1) ||
      act < ACT_LINEAR || act > ACT_ELU || (double)batch * M * N > 1e9 ||
      (double)ba * M * K > 1e9 || (double)bb * K * N > 1e9) {
    return throw_range(env, "matmul: bad parameters");
  }
  const size_t sa = (size_t)M * K, sb = (size_t)K * N, sc = (size_t)M * N;
  const float *a = arg_operand(env, argv[1], base, length, sa * ba);
  const float *b = arg_operand(env, argv[2], base, length, sb * bb);
  float *c = arg_operand(env, argv[3], base, length, sc * batch);
  const float *bias = bo < 0 ? NULL : operand(base, length, bo, (size_t)N);
  if (a == NULL || b == NULL || c == NULL || (bo >= 0 && bias == NULL)) {
    return throw_range(env, "matmul: an operand lies outside the memory");
  }
  for (int i = 0; i < batch; i++) {
    sgemm(env, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f,
                a + (ba == 1 ? 0 : (size_t)i * sa), ta ? M : K, b + (bb == 1 ? 0 : (size_t)i * sb), tb ? K : N,
                0.f, c + (size_t)i * sc, N);
  }
  if (bias != NULL || act != ACT_LINEAR) {
    ConvParams p = {0};
    p.cout = N;
    p.act = act;
    apply_bias_act(&p, c, (size_t)batch * M, bias, (float)alpha);
  }
  return NULL;
}

/*
 * Batch normalisation in training, per channel c of x viewed as [rows, C]:
 * bnForward(memory, xOff, gammaOff, betaOff, yOff, meanOff, varianceOff, invStdOff, rows, C, epsilon)
 *   mean, (biased) variance over the rows, invStd = 1 / sqrt(variance + epsilon),
 *   y = (x - mean) * (gamma * invStd) + beta.
 * bnBackward(memory, dyOff, xOff, meanOff, invStdOff, gammaOff, dxOff, dgammaOff, dbetaOff, rows, C)
 *   with d = x - mean: dbeta = sum dy, dgamma = invStd * sum dy*d,
 *   dx = ((dy - d * invStd^2 * sum(dy*d) / rows) - sum(dy) / rows) * (gamma * invStd).
 * Both take an optional trailing activation fused after the normalisation, (act, alpha) for
 * bnForward and (betaOff, act, alpha) for bnBackward, act ACT_RELU or ACT_LEAKYRELU: the forward
 * pass writes act(y), the backward pass takes dy at act's output and recomputes y from x.
 * Sums are taken in float over blocks of rows and added in double.
 */
#define BN_BLOCK 64

static int bn_args(napi_env env, napi_value *argv, size_t first, size_t *rows, size_t *cols) {
  if (!get_count(env, argv[first], rows) || !get_count(env, argv[first + 1], cols) || *rows == 0 || *cols == 0 ||
      *rows > ((size_t)1 << 32) / *cols) {
    return 0;
  }
  return 1;
}

/* The optional trailing (act, alpha) of bnForward and bnBackward: ACT_LINEAR where absent. */
static int bn_act_args(napi_env env, napi_value *argv, size_t argc, size_t first, int *act, float *alpha) {
  double a = ACT_LINEAR, al = 0;
  if (argc > first && !get_double(env, argv[first], &a)) return 0;
  if (argc > first + 1 && !get_double(env, argv[first + 1], &al)) return 0;
  if (a != ACT_LINEAR && a != ACT_RELU && a != ACT_LEAKYRELU) return 0;
  *act = (int)a;
  *alpha = (float)al;
  return 1;
}

/* The pre-activation of batch norm, the same expression in the forward and the backward pass. */
static inline float bn_value(float x, float mean, float k, float beta) { return (x - mean) * k + beta; }

/* bnForward's three passes: mean, variance (and invStd), then y = act((x - mean) * k + beta). */
HOT_LOOPS static void bn_forward_rows(const float *x, const float *restrict gamma, const float *restrict beta, float *y,
                                      float *restrict mean, float *restrict var, float *restrict inv, size_t rows,
                                      size_t C, float eps, int act, float alpha, double *restrict acc,
                                      float *restrict part, float *restrict k) {
  /* Mean and variance in one pass over memory: per block of rows (in cache), the mean and the sum of
     squared deviations from it, in two passes over the block in float, both taken from the block's
     first row (a shift, so that a mean far from 0 loses no precision); the blocks merged in double
     (Chan, Golub and LeVeque's pairwise update). As accurate as two passes over x. */
  double *restrict m = acc, *restrict m2 = acc + C;
  float *restrict bmean = part, *restrict bm2 = part + C, *restrict shift = part + 2 * C;
  size_t n = 0;
  for (size_t r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    const size_t r1 = r0 + BN_BLOCK < rows ? r0 + BN_BLOCK : rows, nb = r1 - r0;
    memset(part, 0, 2 * C * sizeof(float));
    memcpy(shift, x + r0 * C, C * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *restrict xr = x + r * C;
      for (size_t c = 0; c < C; c++) bmean[c] += xr[c] - shift[c];
    }
    for (size_t c = 0; c < C; c++) bmean[c] /= (float)nb; /* the block's mean - shift */
    for (size_t r = r0; r < r1; r++) {
      const float *restrict xr = x + r * C;
      for (size_t c = 0; c < C; c++) {
        const float d = (xr[c] - shift[c]) - bmean[c];
        bm2[c] += d * d;
      }
    }
    const double w = (double)nb / (double)(n + nb), nw = (double)n * w;
    for (size_t c = 0; c < C; c++) {
      const double delta = ((double)shift[c] + (double)bmean[c]) - m[c];
      m[c] += delta * w;
      m2[c] += (double)bm2[c] + delta * delta * nw;
    }
    n += nb;
  }
  for (size_t c = 0; c < C; c++) {
    mean[c] = (float)m[c];
    var[c] = (float)(m2[c] / (double)rows);
    inv[c] = 1.f / sqrtf(var[c] + eps);
    k[c] = gamma[c] * inv[c];
  }
  /* The activation that follows (ACT_RELU, ACT_LEAKYRELU), fused. */
  for (size_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * C;
    float *restrict yr = y + r * C;
    if (act == ACT_RELU) {
      for (size_t c = 0; c < C; c++) yr[c] = relu_one(bn_value(xr[c], mean[c], k[c], beta[c]));
    } else if (act == ACT_LEAKYRELU) {
      for (size_t c = 0; c < C; c++) yr[c] = leaky_relu_one(bn_value(xr[c], mean[c], k[c], beta[c]), alpha);
    } else {
      for (size_t c = 0; c < C; c++) yr[c] = bn_value(xr[c], mean[c], k[c], beta[c]);
    }
  }
}

static napi_value bn_forward(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length, rows, C; double eps;
  int act = ACT_LINEAR; float alpha = 0;
  if (argc < 11 || !get_memory(env, argv[0], &base, &length) || !bn_args(env, argv, 8, &rows, &C) ||
      !get_double(env, argv[10], &eps) || !bn_act_args(env, argv, argc, 11, &act, &alpha)) {
    return throw_range(env, "bnForward: bad arguments");
  }
  const size_t n = rows * C;
  const float *x = arg_operand(env, argv[1], base, length, n);
  const float *gamma = arg_operand(env, argv[2], base, length, C);
  const float *beta = arg_operand(env, argv[3], base, length, C);
  float *y = arg_operand(env, argv[4], base, length, n);
  float *mean = arg_operand(env, argv[5], base, length, C);
  float *var = arg_operand(env, argv[6], base, length, C);
  float *inv = arg_operand(env, argv[7], base, length, C);
  if (!x || !gamma || !beta || !y || !mean || !var || !inv) return throw_range(env, "bnForward: an operand lies outside the memory");
  double *acc = (double *)calloc(2 * C, sizeof(double));
  float *part = (float *)malloc(3 * C * sizeof(float));
  float *k = (float *)malloc(C * sizeof(float));
  if (!acc || !part || !k) {
    free(acc); free(part); free(k);
    napi_throw_error(env, "ENOMEM", "bnForward: out of memory");
    return NULL;
  }
  bn_forward_rows(x, gamma, beta, y, mean, var, inv, rows, C, (float)eps, act, alpha, acc, part, k);
  free(acc); free(part); free(k);
  return NULL;
}

/*
 * The gradient at the batch norm's output of a fused activation, from its pre-activation z
 * recomputed (as the relu and leakyRelu gradient kernels compute it from their input).
 */
static inline float bn_act_grad(int act, float g, float z, float alpha) {
  if (act == ACT_RELU) return relu_grad_one(g, z);
  if (act == ACT_LEAKYRELU) return leaky_relu_grad_one(g, z, alpha);
  return g;
}

/* The two passes of bnBackward for one activation (inlined with `act` a constant). */
static inline __attribute__((always_inline)) void bn_backward_act(
    int act, const float *dy, const float *x, const float *restrict mean, const float *restrict inv,
    const float *restrict k, const float *restrict beta, float alpha, size_t rows, size_t C, double *restrict acc,
    float *restrict part, float *restrict along, float *restrict shift, float *dx, float *dgamma, float *dbeta) {
  float *pdy = part, *pdyd = part + C;
  for (size_t r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    const size_t r1 = r0 + BN_BLOCK < rows ? r0 + BN_BLOCK : rows;
    memset(part, 0, 2 * C * sizeof(float));
    for (size_t r = r0; r < r1; r++) {
      const float *restrict g = dy + r * C;
      const float *restrict xr = x + r * C;
      if (act == ACT_LINEAR) {
        for (size_t c = 0; c < C; c++) {
          pdy[c] += g[c];
          pdyd[c] += g[c] * (xr[c] - mean[c]);
        }
      } else {
        /* The gradient at the batch norm's output, kept in dx for the second pass. */
        float *restrict ga = dx + r * C;
        for (size_t c = 0; c < C; c++) {
          const float v = bn_act_grad(act, g[c], bn_value(xr[c], mean[c], k[c], beta[c]), alpha);
          ga[c] = v;
          pdy[c] += v;
          pdyd[c] += v * (xr[c] - mean[c]);
        }
      }
    }
    for (size_t c = 0; c < 2 * C; c++) acc[c] += part[c];
  }
  if (act != ACT_LINEAR) dy = dx;
  for (size_t c = 0; c < C; c++) {
    const float sumDy = (float)acc[c], sumDyD = (float)acc[C + c];
    dbeta[c] = sumDy;
    dgamma[c] = sumDyD * inv[c];
    along[c] = (inv[c] * inv[c] * sumDyD) / (float)rows;
    shift[c] = sumDy / (float)rows;
  }
  for (size_t r = 0; r < rows; r++) {
    const float *g = dy + r * C; /* dx itself with a fused activation: each element read, then written */
    const float *restrict xr = x + r * C;
    float *d = dx + r * C;
    for (size_t c = 0; c < C; c++) d[c] = ((g[c] - (xr[c] - mean[c]) * along[c]) - shift[c]) * k[c];
  }
}

/* bn_backward_act with the activation a constant (one loop nest each). */
HOT_LOOPS static void bn_backward_rows(int act, const float *dy, const float *x, const float *restrict mean,
                                       const float *restrict inv, const float *restrict k, const float *restrict beta,
                                       float alpha, size_t rows, size_t C, double *restrict acc, float *restrict part,
                                       float *restrict along, float *restrict shift, float *dx, float *dgamma,
                                       float *dbeta) {
  if (act == ACT_RELU) bn_backward_act(ACT_RELU, dy, x, mean, inv, k, beta, alpha, rows, C, acc, part, along, shift, dx, dgamma, dbeta);
  else if (act == ACT_LEAKYRELU) bn_backward_act(ACT_LEAKYRELU, dy, x, mean, inv, k, beta, alpha, rows, C, acc, part, along, shift, dx, dgamma, dbeta);
  else bn_backward_act(ACT_LINEAR, dy, x, mean, inv, k, beta, alpha, rows, C, acc, part, along, shift, dx, dgamma, dbeta);
}

static napi_value bn_backward(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length, rows, C;
  int act = ACT_LINEAR; float alpha = 0;
  if (argc < 11 || !get_memory(env, argv[0], &base, &length) || !bn_args(env, argv, 9, &rows, &C) ||
      !bn_act_args(env, argv, argc, 12, &act, &alpha) || (act != ACT_LINEAR && argc < 12)) {
    return throw_range(env, "bnBackward: bad arguments");
  }
  const size_t n = rows * C;
  const float *dy = arg_operand(env, argv[1], base, length, n);
  const float *x = arg_operand(env, argv[2], base, length, n);
  const float *mean = arg_operand(env, argv[3], base, length, C);
  const float *inv = arg_operand(env, argv[4], base, length, C);
  const float *gamma = arg_operand(env, argv[5], base, length, C);
  float *dx = arg_operand(env, argv[6], base, length, n);
  float *dgamma = arg_operand(env, argv[7], base, length, C);
  float *dbeta = arg_operand(env, argv[8], base, length, C);
  /* beta: only with a fused activation, to recompute the pre-activation. */
  const float *beta = act == ACT_LINEAR ? NULL : arg_operand(env, argv[11], base, length, C);
  if (!dy || !x || !mean || !inv || !gamma || !dx || !dgamma || !dbeta || (act != ACT_LINEAR && !beta)) {
    return throw_range(env, "bnBackward: an operand lies outside the memory");
  }
  double *acc = (double *)calloc(2 * C, sizeof(double));
  float *part = (float *)malloc(2 * C * sizeof(float));
  float *coef = (float *)malloc(3 * C * sizeof(float));
  if (!acc || !part || !coef) {
    free(acc); free(part); free(coef);
    napi_throw_error(env, "ENOMEM", "bnBackward: out of memory");
    return NULL;
  }
  float *along = coef, *shift = coef + C, *k = coef + 2 * C;
  for (size_t c = 0; c < C; c++) k[c] = gamma[c] * inv[c];
  /* With a fused activation, dy is the gradient at its output: each pass takes the gradient at the
     batch norm's output, act'(z) * dy, from z recomputed from x (no extra tensor read or kept).
     One loop nest per activation, the activation a constant in each (see bn_backward_act). */
  bn_backward_rows(act, dy, x, mean, inv, k, beta, alpha, rows, C, acc, part, along, shift, dx, dgamma, dbeta);
  free(acc); free(part); free(coef);
  return NULL;
}

HOT_LOOPS static void bias_add_loop(const float *x, const float *b, float *y, size_t rows, size_t cols) {
  for (size_t r = 0; r < rows; r++) {
    const float *restrict xr = x + r * cols;
    float *restrict yr = y + r * cols;
    for (size_t c = 0; c < cols; c++) yr[c] = xr[c] + b[c];
  }
}

/* biasAdd(memory, xOff, biasOff, yOff, rows, C): y[r, c] = x[r, c] + bias[c] (an Add broadcasting
   a [C] tensor over the last axis, which the wasm backend runs as a generic broadcasting loop). */
static napi_value bias_add(napi_env env, napi_callback_info info) {
  float *ops[3];
  size_t rows, cols;
  if (!rows_args(env, info, "biasAdd", "(memory, xOff, biasOff, yOff, rows, C)", "MCM", ops, &rows, &cols)) return NULL;
  bias_add_loop(ops[0], ops[1], ops[2], rows, cols);
  return NULL;
}

/*
 * tanh of one float, branch-free so that the loop over a tensor vectorises (glibc's tanhf does
 * not: ~9 ns an element here, this ~2.5). Within 2 ulp of the exact value (checked against
 * double tanh over [-20, 20]); NaN stays NaN, -0 stays -0, +-inf gives +-1.
 *   |x| < 0.55: x + x^3 p(x^2), p a least-squares fit of (tanh(x) - x) / x^3 in x^2 (degree 4);
 *   otherwise:  1 - 2 / (e^(2|x|) + 1), with e^t = 2^k e^r, |r| <= ln2 / 2, e^r by its Taylor
 *               polynomial of degree 7; 1 from |x| = 9.1 on (tanh rounds to 1 in float from 9.01).
 */
static inline float tanh_one(float x) {
  const float a = fabsf(x);
  const float s = a * a;
  const float p = (((-0.006615744f * s + 0.021312737f) * s - 0.053910065f) * s + 0.13333118f) * s - 0.33333332f;
  const float small = a + a * s * p;
  const float t = 2.f * (a < 9.1f ? a : 9.1f);
  const float kf = (float)(int32_t)(t * 1.44269504f + 0.5f);
  const float r = (t - kf * 0.693145752f) - kf * 1.42860677e-6f; /* ln2 in two parts */
  const float er = 1.f + r * (1.f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (0.00833333377f +
                   r * (0.00138888892f + r * 0.000198412701f))))));
  const int32_t bits = ((int32_t)kf + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  const float big = 1.f - 2.f / (er * scale + 1.f);
  const float y = a < 0.55f ? small : (a < 9.1f ? big : 1.f);
  return x != x ? x : copysignf(y, x);
}

HOT_LOOPS static void tanh_loop(const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = tanh_one(x[i]);
}

/* tanh(memory, xOff, yOff, count) */
static napi_value tanh_kernel(napi_env env, napi_callback_info info) {
  float *ops[2];
  size_t n;
  if (!elementwise_args(env, info, "tanh", "(memory, xOff, yOff, count)", 2, ops, &n, NULL)) return NULL;
  tanh_loop(ops[0], ops[1], n);
  return NULL;
}

HOT_LOOPS static void tanh_grad_loop(const float *dy, const float *y, float *dx, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const float square = y[i] * y[i];
    dx[i] = (1.f - square) * dy[i];
  }
}

/* tanhGrad(memory, dyOff, yOff, dxOff, count): dx = (1 - y * y) * dy, tfjs's gradient of Tanh
   (from its output y) in one pass, the same float operations in the same order. */
static napi_value tanh_grad(napi_env env, napi_callback_info info) {
  float *ops[3];
  size_t n;
  if (!elementwise_args(env, info, "tanhGrad", "(memory, dyOff, yOff, dxOff, count)", 3, ops, &n, NULL)) return NULL;
  tanh_grad_loop(ops[0], ops[1], ops[2], n);
  return NULL;
}

HOT_LOOPS static void relu_loop(const float *x, float *y, size_t n) {
  for (size_t i = 0; i < n; i++) y[i] = relu_one(x[i]);
}

/* relu(memory, xOff, yOff, count): y = x < 0 ? 0 : x (NaN stays NaN). */
static napi_value relu(napi_env env, napi_callback_info info) {
  float *ops[2];
  size_t n;
  if (!elementwise_args(env, info, "relu", "(memory, xOff, yOff, count)", 2, ops, &n, NULL)) return NULL;
  relu_loop(ops[0], ops[1], n);
  return NULL;
}

HOT_LOOPS static void relu_grad_loop(const float *dy, const float *x, float *dx, size_t n) {
  for (size_t i = 0; i < n; i++) dx[i] = relu_grad_one(dy[i], x[i]);
}

/*
 * reluGrad(memory, dyOff, xOff, dxOff, count): dx = dy * step(x), as tfjs computes it: dy where
 * x > 0, dy * 0 where x <= 0, NaN where x is NaN.
 */
static napi_value relu_grad(napi_env env, napi_callback_info info) {
  float *ops[3];
  size_t n;
  if (!elementwise_args(env, info, "reluGrad", "(memory, dyOff, xOff, dxOff, count)", 3, ops, &n, NULL)) return NULL;
  relu_grad_loop(ops[0], ops[1], ops[2], n);
  return NULL;
}

HOT_LOOPS static void adam_loop(const float *restrict w, const float *restrict m, const float *restrict v,
                      const float *restrict g, float *restrict ow, float *restrict om, float *restrict ov, size_t n,
                      float b1, float ob1, float b2, float ob2, float eps, float nlr, float c1, float c2) {
  for (size_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = m[i] * b1 + gi * ob1;
    const float vi = v[i] * b2 + (gi * gi) * ob2;
    const float upd = ((mi / c1) / (sqrtf(vi / c2) + eps)) * nlr;
    om[i] = mi;
    ov[i] = vi;
    ow[i] = upd + w[i];
  }
}

/*
 * adam(memory, wOff, mOff, vOff, gOff, outWOff, outMOff, outVOff, count, coefOff, consts Float32Array):
 * one Adam step, with tfjs's float32 operations in tfjs's order:
 *   m' = m*b1 + g*(1-b1);  v' = v*b2 + (g*g)*(1-b2);
 *   w' = ((m'/c1) / (sqrt(v'/c2) + eps)) * (-lr) + w
 * where c1 = 1 - beta1^t and c2 = 1 - beta2^t are two float32 values at coefOff (computed by tfjs)
 * and consts = [b1, 1-b1, b2, 1-b2, eps, -lr] as float32.
 */
static napi_value adam(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *base; size_t length, n;
  if (argc < 11 || !get_memory(env, argv[0], &base, &length) || !get_count(env, argv[8], &n)) {
    return throw_range(env, "adam: bad arguments");
  }
  bool is_typed = false;
  napi_typedarray_type type;
  size_t count = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, argv[10], &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, argv[10], &type, &count, &data, NULL, NULL) != napi_ok ||
      type != napi_float32_array || count != 6) {
    return throw_range(env, "adam: bad arguments");
  }
  const float *k = (const float *)data;
  const float b1 = k[0], ob1 = k[1], b2 = k[2], ob2 = k[3], eps = k[4], nlr = k[5];
  const float *w = arg_operand(env, argv[1], base, length, n);
  const float *m = arg_operand(env, argv[2], base, length, n);
  const float *v = arg_operand(env, argv[3], base, length, n);
  const float *g = arg_operand(env, argv[4], base, length, n);
  float *ow = arg_operand(env, argv[5], base, length, n);
  float *om = arg_operand(env, argv[6], base, length, n);
  float *ov = arg_operand(env, argv[7], base, length, n);
  const float *coef = arg_operand(env, argv[9], base, length, 2);
  if (!w || !m || !v || !g || !ow || !om || !ov || !coef) return throw_range(env, "adam: an operand lies outside the memory");
  const float c1 = coef[0], c2 = coef[1];
  /* Outputs are fresh tensors: no operand overlaps another, which lets the loop vectorise. */
  adam_loop(w, m, v, g, ow, om, ov, n, b1, ob1, b2, ob2, eps, nlr, c1, c2);
  return NULL;
}

/* setDnnl(enabled): whether convolutions try oneDNN first; returns whether they now do. */
static napi_value set_dnnl(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool enabled = false;
  if (argc < 1 || napi_get_value_bool(env, argv[0], &enabled) != napi_ok) {
    return throw_range(env, "setDnnl: expected a boolean");
  }
  int now = dnnl_set_enabled(env, enabled);
  CHECK(napi_get_boolean(env, now != 0, &result));
  return result;
}

/* convStats(): { dnnl, im2col }: convolutions each path ran in this environment. */
static napi_value conv_stats(napi_env env, napi_callback_info info) {
  Scratch *s = env_state(env);
  napi_value obj, a, b;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_double(env, s ? s->dnnl_calls : 0, &a));
  CHECK(napi_create_double(env, s ? s->im2col_calls : 0, &b));
  CHECK(napi_set_named_property(env, obj, "dnnl", a));
  CHECK(napi_set_named_property(env, obj, "im2col", b));
  return obj;
}

/* setThreads(n): OpenBLAS's (and oneDNN's OpenMP) thread count (n >= 1). */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t n = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1 || n > 256) {
    return throw_range(env, "setThreads: expected a thread count from 1 to 256");
  }
  openblas_set_num_threads(n);
#ifdef GAN_STUDIO_DNNL
  omp_set_num_threads(n); /* oneDNN's threads, for parallel regions this thread starts */
#endif
  return NULL;
}

/* info(): { threads, core, config } of the OpenBLAS in use, dnnl: the oneDNN version or null. */
static napi_value get_info(napi_env env, napi_callback_info info) {
  napi_value obj, threads, core, config;
  CHECK(napi_create_object(env, &obj));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  const char *corename = openblas_get_corename();
  const char *cfg = openblas_get_config();
  CHECK(napi_create_string_utf8(env, corename ? corename : "unknown", NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, cfg ? cfg : "unknown", NAPI_AUTO_LENGTH, &config));
  CHECK(napi_set_named_property(env, obj, "threads", threads));
  CHECK(napi_set_named_property(env, obj, "core", core));
  CHECK(napi_set_named_property(env, obj, "config", config));
  napi_value dnnl;
  const char *dv = dnnl_version_text();
  if (dv != NULL) CHECK(napi_create_string_utf8(env, dv, NAPI_AUTO_LENGTH, &dnnl));
  else CHECK(napi_get_null(env, &dnnl));
  CHECK(napi_set_named_property(env, obj, "dnnl", dnnl));
  return obj;
}

NAPI_MODULE_INIT() {
  Scratch *s = (Scratch *)calloc(1, sizeof(Scratch));
  if (s == NULL || napi_set_instance_data(env, s, scratch_finalize, NULL) != napi_ok) {
    free(s);
    napi_throw_error(env, NULL, "gan-studio-native: cannot set up");
    return NULL;
  }
  napi_property_descriptor props[] = {
    {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_enumerable, NULL},
    {"conv2dBackpropInput", NULL, conv2d_backprop_input, NULL, NULL, NULL, napi_enumerable, NULL},
    {"conv2dBackpropFilter", NULL, conv2d_backprop_filter, NULL, NULL, NULL, napi_enumerable, NULL},
    {"leakyRelu", NULL, leaky_relu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"leakyReluGrad", NULL, leaky_relu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"sumRows", NULL, sum_rows, NULL, NULL, NULL, napi_enumerable, NULL},
    {"matmul", NULL, matmul, NULL, NULL, NULL, napi_enumerable, NULL},
    {"bnForward", NULL, bn_forward, NULL, NULL, NULL, napi_enumerable, NULL},
    {"bnBackward", NULL, bn_backward, NULL, NULL, NULL, napi_enumerable, NULL},
    {"relu", NULL, relu, NULL, NULL, NULL, napi_enumerable, NULL},
    {"reluGrad", NULL, relu_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"biasAdd", NULL, bias_add, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tanh", NULL, tanh_kernel, NULL, NULL, NULL, napi_enumerable, NULL},
    {"tanhGrad", NULL, tanh_grad, NULL, NULL, NULL, napi_enumerable, NULL},
    {"adam", NULL, adam, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setDnnl", NULL, set_dnnl, NULL, NULL, NULL, napi_enumerable, NULL},
    {"convStats", NULL, conv_stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL},
    {"info", NULL, get_info, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
