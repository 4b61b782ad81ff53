// oneDNN primitives for the tfjs kernels that dominate training: convolution (forward, data gradient, filter gradient)
// and batched matrix products. Every function works on raw pointers into the caller's memory (the wasm heap): no copies
// except oneDNN's own weight reorders into its preferred blocked layout.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tinylab {

// One 2-D convolution in tfjs terms: NHWC activations, HWIO filter, explicit pads already resolved
// (tfjs backend_util.computeConv2DInfo gives top/left/bottom/right for 'same', 'valid' and explicit pads).
struct ConvShape {
  int64_t n, ih, iw, ic;  // input  [n, ih, iw, ic]
  int64_t kh, kw, oc;     // filter [kh, kw, ic, oc]
  int64_t oh, ow;         // output [n, oh, ow, oc]
  int64_t sh, sw;         // strides
  int64_t dh, dw;         // dilations (1 = none; oneDNN counts from 0)
  int64_t pt, pl, pb, pr; // pads
};

void conv2d(const ConvShape& s, const float* x, const float* w, float* y);
void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx);
void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw);

// C[..., m, n] = op(A)[..., m, k] * op(B)[..., k, n] with op = transpose of the last two axes when asked.
// aDims/bDims are the stored shapes with equal rank (leading 1s broadcast like tfjs BatchMatMul).
void batchMatMul(int rank, const int64_t* aDims, const int64_t* bDims, bool transA, bool transB,
                 const float* a, const float* b, float* c);

// Max pooling gradient, NHWC, tfjs semantics (padded cells never win). Recomputes the forward pass to get oneDNN's
// argmax workspace: cheaper than the scalar wasm loop it replaces and needs no state between the two kernels.
struct PoolShape {
  int64_t n, ih, iw, c;
  int64_t kh, kw;
  int64_t oh, ow;
  int64_t sh, sw;
  int64_t pt, pl, pb, pr;
};
void maxPoolGrad(const PoolShape& s, const float* x, const float* dy, float* dx);

// y[o, i] = scale * sum_r x[o, r, i]: tfjs Sum / Mean over one contiguous block of axes.
void reduceSum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, float scale);

// y = exp(x) over n floats with oneDNN's JIT eltwise (AVX2/AVX-512, threaded). The word LM's log-softmax over
// [700, 33278] logits runs two of these per step; wasm's scalar expf loop took half the step.
void exp(const float* x, float* y, int64_t n);

// Log-softmax over the last axis of [rows, cols] with oneDNN's JIT kernels, and its gradient
// dx = dy - exp(y)·Σ_cols dy. tfjs composes them from ~8 full passes each way (max, sub, exp, sum, log, sub; exp, sum,
// mul, sub); the word LM runs them over its [700, 33278] logits every step.
void logSoftmax(const float* x, float* y, int64_t rows, int64_t cols);
void logSoftmaxGrad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols);

// Train-mode batch normalisation over the last axis of x viewed as [rows, channels] (NHWC: rows = N·H·W).
// Forward: batch mean, biased variance, rstd = 1/sqrt(var + eps) and y = gamma·(x - mean)·rstd + beta, reading x twice.
// Backward (aten's native_batch_norm_backward): dbeta = Σ dy, dgamma = rstd·Σ dy·(x - mean),
// dx = gamma·rstd·(dy - dbeta/rows) - gamma·rstd³·(x - mean)·Σ dy·(x - mean)/rows, reading dy and x twice.
// tfjs composes each from ~8 full-size elementwise kernels, one memory pass each.
void batchNormTraining(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t channels, float eps,
                       float* y, float* mean, float* variance, float* rstd);
void batchNormTrainingGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma,
                           int64_t rows, int64_t channels, float* dx, float* dgamma, float* dbeta);

// One torch.optim.SGD update with a momentum buffer, in one pass (tfjs needs six kernels, one memory pass each):
// d = g + weightDecay·p; buf' = momentum·buf + (1 - dampening)·d; p' = p - lr·(nesterov ? d + momentum·buf' : buf').
struct SgdOptions {
  float lr, momentum, dampening, weightDecay;
  bool nesterov;
};
void sgdMomentum(const SgdOptions& o, const float* p, const float* g, const float* buf, int64_t n, float* pOut,
                 float* bufOut);

// tfjs Tile for any element size: out has shape inShape[d] * reps[d].
void tile(int rank, const int64_t* inShape, const int64_t* reps, int64_t elementBytes, const uint8_t* x, uint8_t* y);

int maxThreads();
void setThreads(int n);
const char* cpuIsa();
const char* libraryVersion();
size_t cachedPrimitives();

}  // namespace tinylab
