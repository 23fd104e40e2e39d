// AttentiveChrome's bin level in one CPU kernel: every (mark, direction) LSTM plus the bin attention.
//
// One call runs G = 2 * marks groups, each a 1-layer LSTM with input size 1 and hidden size HID
// (a compile-time constant, so the gate accumulators stay in vector registers), then pools each
// mark's bidirectional states with its attention context vector. The backward pass runs the
// attention backward, back-propagates through time to the gradients of the gate
// pre-activations, and sums their products with the saved inputs into the weight gradients.
// The Python side (_fast_lstm.py) compiles this file once per hidden size with the
// system C++ compiler, caches the library and calls it through ctypes: no PyTorch headers.
//
// Layouts (row-major, float32); group g is mark g / 2, direction g % 2 (1 = reverse):
//   x        (B, T, M)        input counts (after the model's input transform)
//   wih      (G, 4H)          input weights, gate order i, f, g, o as in torch.nn.LSTM
//   whhT     (G, H, 4H)       recurrent weights, transposed (forward pass)
//   whh      (G, 4H, H)       recurrent weights as torch stores them (backward pass)
//   bias     (G, 4H)          b_ih + b_hh
//   ctx      (M, 2H)          attention context vector of each mark
//   states   (B, M, T, 2H)    hidden states; direction 0 in [0, H), direction 1 in [H, 2H)
//   alpha    (B, M, T)        attention weights over bins (softmax of states . ctx)
//   pooled   (B, M, 2H)       sum over bins of alpha * states
//   gates    (G, B, T, 4H)    saved activations i, f, g, o (training only)
//   cs       (G, B, T, H)     saved cell states (training only)
//   hp       (G, B, T, H)     saved h_prev of each step (training only)
//   dpooled  (B, M, 2H)       gradient with respect to pooled
//   dalpha   (B, M, T)        gradient with respect to alpha (may be null: zero)
//   dscore   (B, M, T)        gradient with respect to the attention scores (backward scratch)
//   dctx     (B, M, 2H)       per-gene gradient with respect to ctx (summed over genes by the caller)
//   dz       (G, B, T, 4H)    gradient with respect to the gate pre-activations (backward scratch)
//   dwhh     (G, 4H, H)       gradient with respect to W_hh
//   dwih     (G, 4H)          gradient with respect to w_ih
//   db       (G, 4H)          gradient with respect to the bias (b_ih and b_hh alike)

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#ifndef HID
#error "compile with -DHID=<hidden size>"
#endif

namespace {

constexpr int H = HID;
constexpr int G4 = 4 * H;

// Floats per vector: the widest the CPU has that divides the hidden size.
#if defined(__AVX512F__) && HID % 16 == 0
#define ACX_WIDTH 16
#elif defined(__AVX__) && HID % 8 == 0
#define ACX_WIDTH 8
#elif HID % 4 == 0
#define ACX_WIDTH 4
#else
#error "the hidden size must be a multiple of 4"
#endif
constexpr int VW = ACX_WIDTH;
constexpr int NV = H / VW;  // vectors per gate block

// Genes stepped together through the recurrence. Two when both genes' gate accumulators
// (4 * NV vectors each) fill at most half of AVX-512's 32 registers; otherwise one, since
// spilling the accumulators costs more than the second gene saves (an AVX2 build at hidden 32
// ran a training step 8-16% faster with one).
#ifndef ROWS
#if ACX_WIDTH == 16 && 8 * (HID / 16) <= 16
#define ROWS 2
#else
#define ROWS 1
#endif
#endif

typedef float vf __attribute__((vector_size(VW * 4)));
typedef int32_t vi __attribute__((vector_size(VW * 4)));

inline vf splat(float v) {
#if ACX_WIDTH == 16
  return (vf)_mm512_set1_ps(v);
#elif ACX_WIDTH == 8
  return (vf)_mm256_set1_ps(v);
#else
  return vf{} + v;
#endif
}
inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline float hsum(vf v) {
  float s = 0.0f;
  for (int i = 0; i < VW; ++i) s += v[i];
  return s;
}

// 1 / d for d >= 1: a 14-bit estimate refined by one Newton step where AVX-512 has one.
inline vf reciprocal(vf d) {
#if ACX_WIDTH == 16
  const vf r = (vf)_mm512_rcp14_ps((__m512)d);
  return r * (splat(2.0f) - d * r);
#else
  return splat(1.0f) / d;
#endif
}

// exp(x) for x clamped to [-80, 80]: Cody-Waite reduction and the Cephes polynomial (about 1 ulp).
inline vf vexp(vf x) {
  const vf c1 = splat(0.693359375f), c2 = splat(-2.12194440e-4f);  // ln 2 = c1 + c2
#if ACX_WIDTH == 16
  // AVX-512: one rounding and one scaling instruction replace the bit tricks below.
  const __m512 xc = _mm512_min_ps(_mm512_max_ps((__m512)x, _mm512_set1_ps(-80.0f)), _mm512_set1_ps(80.0f));
  const vf n = (vf)_mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const vf r = ((vf)xc - n * c1) - n * c2;
#else
  const vf hi = splat(80.0f), lo = splat(-80.0f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const vf shifter = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  vf n = x * splat(1.44269504088896341f) + shifter;
  const vi k = (vi)n - (vi)shifter;  // the integer, read from the mantissa bits
  n = n - shifter;
  const vf r = (x - n * c1) - n * c2;
#endif
  const vf z = r * r;
  vf p = splat(1.9875691500e-4f);
  p = p * r + splat(1.3981999507e-3f);
  p = p * r + splat(8.3334519073e-3f);
  p = p * r + splat(4.1665795894e-2f);
  p = p * r + splat(1.6666665459e-1f);
  p = p * r + splat(5.0000001201e-1f);
  p = p * z + r + splat(1.0f);
#if ACX_WIDTH == 16
  return (vf)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
  const vi scale = (k + 127) << 23;
  return p * (vf)scale;
#endif
}

inline vf vsigmoid(vf x) { return reciprocal(splat(1.0f) + vexp(-x)); }
// tanh(x) = 2 sigmoid(2x) - 1: one exponential and one reciprocal.
inline vf vtanh(vf x) { return splat(2.0f) * reciprocal(splat(1.0f) + vexp(splat(-2.0f) * x)) - splat(1.0f); }

struct Problem {
  int B, T, M;
  const float* x;
  const float* wih;
  const float* whhT;
  const float* whh;
  const float* bias;
  const float* ctx;
  float* states;
  float* alpha;
  float* pooled;
  float* gates;
  float* cs;
  float* hp;
  const float* dpooled;
  const float* dalpha;
  float* dscore;
  float* dctx;
  float* dz;
  float* dwhh;
  float* dwih;
  float* db;
};

inline std::size_t grow_index(const Problem& p, int g, int b, int t) {  // (g, b, t) in (G, B, T, .)
  return (static_cast<std::size_t>(g) * p.B + b) * p.T + t;
}
inline std::size_t bm_index(const Problem& p, int b, int m) {  // (b, m) in (B, M, .)
  return static_cast<std::size_t>(b) * p.M + m;
}

// ------------------------------------------------------------------ LSTM, forward

// R rows advance together, one after the other within each step: the activations of one row
// overlap in the CPU with the matrix product of the next.
template <int R>
inline void lstm_forward_rows(const Problem& p, int g, int b) {
  const int m = g >> 1, d = g & 1;
  const float* wT = p.whhT + static_cast<std::size_t>(g) * H * G4;
  const float* wih = p.wih + static_cast<std::size_t>(g) * G4;
  const float* bias = p.bias + static_cast<std::size_t>(g) * G4;
  alignas(64) float h[R][H] = {};
  vf c[R][NV] = {};
  for (int s = 0; s < p.T; ++s) {
    const int t = d ? p.T - 1 - s : s;
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      // z = b + x w_ih + h W_hh^T, the 4H gate pre-activations
      const float xs = p.x[(static_cast<std::size_t>(b + r) * p.T + t) * p.M + m];
      const vf xv = splat(xs);
      vf z[4 * NV];
#pragma GCC unroll 64
      for (int v = 0; v < 4 * NV; ++v) z[v] = load(bias + v * VW) + xv * load(wih + v * VW);
      for (int k = 0; k < H; ++k) {
        const vf hk = splat(h[r][k]);
#pragma GCC unroll 64
        for (int v = 0; v < 4 * NV; ++v) z[v] += hk * load(wT + k * G4 + v * VW);
      }
      if (p.hp) std::memcpy(p.hp + grow_index(p, g, b + r, t) * H, h[r], sizeof h[r]);
      float* gsave = p.gates ? p.gates + grow_index(p, g, b + r, t) * G4 : nullptr;
      float* csave = p.gates ? p.cs + grow_index(p, g, b + r, t) * H : nullptr;
      float* hout = p.states + (bm_index(p, b + r, m) * p.T + t) * (2 * H) + d * H;
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const vf i = vsigmoid(z[v]);
        const vf f = vsigmoid(z[NV + v]);
        const vf gg = vtanh(z[2 * NV + v]);
        const vf o = vsigmoid(z[3 * NV + v]);
        c[r][v] = f * c[r][v] + i * gg;
        const vf hv = o * vtanh(c[r][v]);
        store(h[r] + v * VW, hv);
        store(hout + v * VW, hv);
        if (gsave) {
          store(gsave + v * VW, i);
          store(gsave + H + v * VW, f);
          store(gsave + 2 * H + v * VW, gg);
          store(gsave + 3 * H + v * VW, o);
          store(csave + v * VW, c[r][v]);
        }
      }
    }
  }
}

// ------------------------------------------------------------------ LSTM, backward through time

template <int R>
inline void lstm_backward_rows(const Problem& p, int g, int b) {
  const int m = g >> 1, d = g & 1;
  const float* W = p.whh + static_cast<std::size_t>(g) * G4 * H;
  vf ctx[NV];
#pragma GCC unroll 16
  for (int v = 0; v < NV; ++v) ctx[v] = load(p.ctx + static_cast<std::size_t>(m) * 2 * H + d * H + v * VW);
  vf dpool[R][NV];
  const float* alpha[R];
  const float* dscore[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    const std::size_t bm = bm_index(p, b + r, m);
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) dpool[r][v] = load(p.dpooled + bm * 2 * H + d * H + v * VW);
    alpha[r] = p.alpha + bm * p.T;
    dscore[r] = p.dscore + bm * p.T;
  }
  vf dh_next[R][NV] = {};
  vf dc_next[R][NV] = {};
  for (int s = p.T - 1; s >= 0; --s) {
    const int t = d ? p.T - 1 - s : s;
    const int t_prev = d ? t + 1 : t - 1;  // the step before t in processing order (when s > 0)
    float* dzr[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const float* gsave = p.gates + grow_index(p, g, b + r, t) * G4;
      const float* csave = p.cs + grow_index(p, g, b + r, t) * H;
      const float* cprev = s > 0 ? p.cs + grow_index(p, g, b + r, t_prev) * H : nullptr;
      dzr[r] = p.dz + grow_index(p, g, b + r, t) * G4;
      const vf a = splat(alpha[r][t]), ds = splat(dscore[r][t]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const vf one = splat(1.0f);
        const vf i = load(gsave + v * VW), f = load(gsave + H + v * VW);
        const vf gg = load(gsave + 2 * H + v * VW), o = load(gsave + 3 * H + v * VW);
        const vf c = load(csave + v * VW);
        const vf c_prev = cprev ? load(cprev + v * VW) : vf{};
        // Gradient reaching h_t: from the attention (alpha * dpooled + dscore * ctx) and from step t+1.
        const vf dh = a * dpool[r][v] + ds * ctx[v] + dh_next[r][v];
        const vf tc = vtanh(c);
        const vf dc = dc_next[r][v] + dh * o * (one - tc * tc);
        dc_next[r][v] = dc * f;
        store(dzr[r] + v * VW, dc * gg * i * (one - i));
        store(dzr[r] + H + v * VW, dc * c_prev * f * (one - f));
        store(dzr[r] + 2 * H + v * VW, dc * i * (one - gg * gg));
        store(dzr[r] + 3 * H + v * VW, dh * tc * o * (one - o));
      }
    }
    // dh_next = dz @ W_hh, with two accumulators per vector to hide the FMA latency.
    vf acc0[R][NV] = {}, acc1[R][NV] = {};
    for (int j = 0; j < G4; j += 2) {
      vf d0[R], d1[R];
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        d0[r] = splat(dzr[r][j]);
        d1[r] = splat(dzr[r][j + 1]);
      }
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        const vf w0 = load(W + j * H + v * VW);
        const vf w1 = load(W + (j + 1) * H + v * VW);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
          acc0[r][v] += d0[r] * w0;
          acc1[r][v] += d1[r] * w1;
        }
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) dh_next[r][v] = acc0[r][v] + acc1[r][v];
  }
}


// ------------------------------------------------------------------ weight gradients of one group

// dW_hh[j0:j0+J, :] += sum over rows k of dz[k, j] * h_prev[k, :], J rows of dW_hh in registers.
template <int J>
inline void weight_tile(const float* dz, const float* hp, float* dw, std::size_t k0, std::size_t k1, int j0) {
  vf acc[J][NV];
#pragma GCC unroll 32
  for (int i = 0; i < J; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[i][v] = load(dw + (j0 + i) * H + v * VW);
  for (std::size_t k = k0; k < k1; ++k) {
    vf hv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) hv[v] = load(hp + k * H + v * VW);
    const float* dzk = dz + k * G4 + j0;
#pragma GCC unroll 32
    for (int i = 0; i < J; ++i) {
      const vf a = splat(dzk[i]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] += a * hv[v];
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < J; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) store(dw + (j0 + i) * H + v * VW, acc[i][v]);
}

// dW_hh = dz^T h_prev, dw_ih = dz^T x and db = column sums of dz over all B*T rows of group g,
// in blocks of rows that stay in the L2 cache while every tile of dW_hh passes over them.
void weight_grads(const Problem& p, int g) {
  constexpr int J = (24 / NV) >= 1 ? 24 / NV : 1;  // rows of dW_hh per register tile
  constexpr int JR = G4 % J;
  constexpr std::size_t KB = 256;
  const int m = g >> 1;
  const std::size_t K = static_cast<std::size_t>(p.B) * p.T;
  const float* dz = p.dz + static_cast<std::size_t>(g) * K * G4;
  const float* hp = p.hp + static_cast<std::size_t>(g) * K * H;
  float* dw = p.dwhh + static_cast<std::size_t>(g) * G4 * H;
  std::memset(dw, 0, sizeof(float) * G4 * H);
  vf ax[4 * NV] = {}, ab[4 * NV] = {};
  for (std::size_t k0 = 0; k0 < K; k0 += KB) {
    const std::size_t k1 = std::min(K, k0 + KB);
    int j0 = 0;
    for (; j0 + J <= G4; j0 += J) weight_tile<J>(dz, hp, dw, k0, k1, j0);
    if constexpr (JR > 0) weight_tile<(JR > 0 ? JR : 1)>(dz, hp, dw, k0, k1, j0);
    for (std::size_t k = k0; k < k1; ++k) {
      const vf xk = splat(p.x[k * p.M + m]);  // row k is (gene k / T, bin k % T)
#pragma GCC unroll 64
      for (int v = 0; v < 4 * NV; ++v) {
        const vf d = load(dz + k * G4 + v * VW);
        ax[v] += xk * d;
        ab[v] += d;
      }
    }
  }
  for (int v = 0; v < 4 * NV; ++v) {
    store(p.dwih + static_cast<std::size_t>(g) * G4 + v * VW, ax[v]);
    store(p.db + static_cast<std::size_t>(g) * G4 + v * VW, ab[v]);
  }
}

// ------------------------------------------------------------------ attention over bins, one (gene, mark)

void attention_forward(const Problem& p, int b, int m) {
  const std::size_t bm = bm_index(p, b, m);
  const float* hs = p.states + bm * p.T * 2 * H;
  const float* ctx = p.ctx + static_cast<std::size_t>(m) * 2 * H;
  float* alpha = p.alpha + bm * p.T;
  vf cv[2 * NV];
  for (int v = 0; v < 2 * NV; ++v) cv[v] = load(ctx + v * VW);
  float top = -INFINITY;
  for (int t = 0; t < p.T; ++t) {
    vf acc = {};
    for (int v = 0; v < 2 * NV; ++v) acc += load(hs + t * 2 * H + v * VW) * cv[v];
    alpha[t] = hsum(acc);
    top = std::max(top, alpha[t]);
  }
  double total = 0.0;
  for (int t = 0; t < p.T; ++t) {
    alpha[t] = std::exp(alpha[t] - top);
    total += alpha[t];
  }
  const float scale = static_cast<float>(1.0 / total);
  vf pool[2 * NV] = {};
  for (int t = 0; t < p.T; ++t) {
    alpha[t] *= scale;
    const vf a = splat(alpha[t]);
    for (int v = 0; v < 2 * NV; ++v) pool[v] += a * load(hs + t * 2 * H + v * VW);
  }
  for (int v = 0; v < 2 * NV; ++v) store(p.pooled + bm * 2 * H + v * VW, pool[v]);
}

void attention_backward(const Problem& p, int b, int m) {
  const std::size_t bm = bm_index(p, b, m);
  const float* hs = p.states + bm * p.T * 2 * H;
  const float* alpha = p.alpha + bm * p.T;
  float* dscore = p.dscore + bm * p.T;
  vf dp[2 * NV];
  for (int v = 0; v < 2 * NV; ++v) dp[v] = load(p.dpooled + bm * 2 * H + v * VW);
  // d alpha_t = dpooled . h_t (+ the gradient given for alpha); d score_t = alpha_t (d alpha_t - sum alpha d alpha).
  float weighted = 0.0f;
  for (int t = 0; t < p.T; ++t) {
    vf acc = {};
    for (int v = 0; v < 2 * NV; ++v) acc += load(hs + t * 2 * H + v * VW) * dp[v];
    dscore[t] = hsum(acc) + (p.dalpha ? p.dalpha[bm * p.T + t] : 0.0f);
    weighted += alpha[t] * dscore[t];
  }
  vf dctx[2 * NV] = {};
  for (int t = 0; t < p.T; ++t) {
    dscore[t] = alpha[t] * (dscore[t] - weighted);
    const vf ds = splat(dscore[t]);
    for (int v = 0; v < 2 * NV; ++v) dctx[v] += ds * load(hs + t * 2 * H + v * VW);
  }
  for (int v = 0; v < 2 * NV; ++v) store(p.dctx + bm * 2 * H + v * VW, dctx[v]);
}

// ------------------------------------------------------------------ threads

enum class Phase { kLstmForward, kLstmBackward, kAttentionForward, kAttentionBackward, kWeightGrads };

// Work items: LSTM phases split (group, chunk of rows); attention phases split (gene, mark) pairs
// in chunks; the weight gradients split groups. Threads take items from a shared counter.
struct Work {
  const Problem* p;
  Phase phase;
  int chunks;
  int chunk_rows;
  int items;
  std::atomic<int> next{0};
};

void run_item(const Work& w, int item) {
  const Problem& p = *w.p;
  if (w.phase == Phase::kWeightGrads) {
    weight_grads(p, item);
    return;
  }
  if (w.phase == Phase::kAttentionForward || w.phase == Phase::kAttentionBackward) {
    const int total = p.B * p.M;
    const int lo = item * w.chunk_rows, hi = std::min(total, lo + w.chunk_rows);
    for (int bm = lo; bm < hi; ++bm) {
      if (w.phase == Phase::kAttentionForward) {
        attention_forward(p, bm / p.M, bm % p.M);
      } else {
        attention_backward(p, bm / p.M, bm % p.M);
      }
    }
    return;
  }
  const int g = item / w.chunks;
  const int b0 = (item % w.chunks) * w.chunk_rows;
  const int b1 = std::min(p.B, b0 + w.chunk_rows);
  int b = b0;
  if (w.phase == Phase::kLstmBackward) {
    for (; b + ROWS <= b1; b += ROWS) lstm_backward_rows<ROWS>(p, g, b);
    for (; b < b1; ++b) lstm_backward_rows<1>(p, g, b);
  } else {
    for (; b + ROWS <= b1; b += ROWS) lstm_forward_rows<ROWS>(p, g, b);
    for (; b < b1; ++b) lstm_forward_rows<1>(p, g, b);
  }
}

void* worker(void* arg) {
  Work& w = *static_cast<Work*>(arg);
  for (int item; (item = w.next.fetch_add(1)) < w.items;) run_item(w, item);
  return nullptr;
}

void run(const Problem& p, Phase phase, int n_threads) {
  n_threads = std::max(1, std::min(n_threads, 64));
  Work w;
  w.p = &p;
  w.phase = phase;
  if (phase == Phase::kWeightGrads) {
    w.chunks = 1;
    w.chunk_rows = 1;
    w.items = 2 * p.M;
  } else if (phase == Phase::kAttentionForward || phase == Phase::kAttentionBackward) {
    const int total = p.B * p.M;
    w.chunks = 1;
    w.chunk_rows = std::max(1, total / (4 * n_threads));
    w.items = (total + w.chunk_rows - 1) / w.chunk_rows;
  } else {
    const int groups = 2 * p.M;
    // Enough chunks for every thread to stay busy, but chunks of at least ROWS rows.
    int chunks = std::max(1, (2 * n_threads + groups - 1) / groups);
    chunks = std::min(chunks, std::max(1, p.B / ROWS));
    w.chunk_rows = (p.B + chunks - 1) / chunks;
    w.chunk_rows = (w.chunk_rows + ROWS - 1) / ROWS * ROWS;
    w.chunks = (p.B + w.chunk_rows - 1) / w.chunk_rows;
    w.items = groups * w.chunks;
  }
  n_threads = std::min(n_threads, w.items);
  pthread_t threads[64];
  int started = 0;
  for (int i = 1; i < n_threads; ++i) {
    if (pthread_create(&threads[started], nullptr, worker, &w) != 0) break;  // the caller does the rest
    ++started;
  }
  worker(&w);
  for (int i = 0; i < started; ++i) pthread_join(threads[i], nullptr);
}

}  // namespace

extern "C" {

int acx_hidden_size() { return H; }
int acx_vector_width() { return VW; }

// states, alpha, pooled are outputs; gates, cs, hp are saved for the backward pass when not null.
void acx_forward(int B, int T, int M, const float* x, const float* wih, const float* whhT, const float* bias,
                 const float* ctx, float* states, float* alpha, float* pooled, float* gates, float* cs, float* hp,
                 int n_threads) {
  Problem p{};
  p.B = B, p.T = T, p.M = M;
  p.x = x, p.wih = wih, p.whhT = whhT, p.bias = bias, p.ctx = ctx;
  p.states = states, p.alpha = alpha, p.pooled = pooled, p.gates = gates, p.cs = cs, p.hp = hp;
  run(p, Phase::kLstmForward, n_threads);
  run(p, Phase::kAttentionForward, n_threads);
}

// dwhh, dwih, db and dctx (per gene) are outputs; dscore and dz are scratch of shapes (B, M, T) and
// (G, B, T, 4H); dalpha may be null.
void acx_backward(int B, int T, int M, const float* x, const float* whh, const float* ctx, const float* states,
                  const float* alpha, const float* gates, const float* cs, const float* hp, const float* dpooled,
                  const float* dalpha, float* dscore, float* dctx, float* dz, float* dwhh, float* dwih, float* db,
                  int n_threads) {
  Problem p{};
  p.B = B, p.T = T, p.M = M;
  p.x = x, p.whh = whh, p.ctx = ctx;
  p.states = const_cast<float*>(states), p.alpha = const_cast<float*>(alpha);
  p.gates = const_cast<float*>(gates), p.cs = const_cast<float*>(cs), p.hp = const_cast<float*>(hp);
  p.dpooled = dpooled, p.dalpha = dalpha, p.dscore = dscore, p.dctx = dctx, p.dz = dz;
  p.dwhh = dwhh, p.dwih = dwih, p.db = db;
  run(p, Phase::kAttentionBackward, n_threads);
  run(p, Phase::kLstmBackward, n_threads);
  run(p, Phase::kWeightGrads, n_threads);
}

}  // extern "C"
