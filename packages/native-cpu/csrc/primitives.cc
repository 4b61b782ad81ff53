// oneDNN-backed kernels. Primitives are built once per shape and cached: building one costs about a millisecond
// (JIT code generation), executing one for ResNet-18 at 64x64 costs a few milliseconds, and a training step reuses
// the same few dozen shapes every iteration.
#include "primitives.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

namespace tinylab {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

std::string makeKey(char op, const int64_t* values, size_t count) {
  std::string key(1, op);
  key.append(reinterpret_cast<const char*>(values), count * sizeof(int64_t));
  return key;
}

// A tensor the caller owns (wasm heap) viewed through oneDNN, plus, when the primitive prefers another layout,
// the reorder into a buffer oneDNN owns. `toPrimitive` says which way the reorder runs.
struct Staged {
  memory user;
  memory inner;  // == user when no reorder is needed
  dnnl::reorder move;
  bool reordered = false;

  Staged() = default;
  Staged(const memory::desc& userMd, const memory::desc& primMd, bool toPrimitive) {
    user = memory(userMd, cpuEngine(), DNNL_MEMORY_NONE);
    if (userMd == primMd) {
      inner = user;
      return;
    }
    reordered = true;
    inner = memory(primMd, cpuEngine());
    move = toPrimitive ? dnnl::reorder(user, inner) : dnnl::reorder(inner, user);
  }
  void bind(const void* ptr) { user.set_data_handle(const_cast<void*>(ptr)); }
  void stageIn() {
    if (reordered) move.execute(cpuStream(), user, inner);
  }
  void stageOut() {
    if (reordered) move.execute(cpuStream(), inner, user);
  }
};

struct ConvDescs {
  memory::desc src, weightsAny, weightsUser, dst;
  memory::dims strides, dilations, padL, padR;
  explicit ConvDescs(const ConvShape& s)
      : src({s.n, s.ic, s.ih, s.iw}, dt::f32, tag::nhwc),
        weightsAny({s.oc, s.ic, s.kh, s.kw}, dt::f32, tag::any),
        weightsUser({s.oc, s.ic, s.kh, s.kw}, dt::f32, tag::hwio),
        dst({s.n, s.oc, s.oh, s.ow}, dt::f32, tag::nhwc),
        strides{s.sh, s.sw},
        dilations{s.dh - 1, s.dw - 1},
        padL{s.pt, s.pl},
        padR{s.pb, s.pr} {}

  dnnl::convolution_forward::primitive_desc forward() const {
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src,
                                      weightsAny, dst, strides, dilations, padL, padR);
    return dnnl::convolution_forward::primitive_desc(d, cpuEngine());
  }
};

struct ConvForward {
  dnnl::convolution_forward prim;
  memory src, dst;
  Staged weights;
};

struct ConvBackwardData {
  dnnl::convolution_backward_data prim;
  memory diffDst, diffSrc;
  Staged weights;
};

// The filter gradient by oneDNN's convolution when it has a JIT kernel for the shape; otherwise (AVX2 at layer4's 2x2
// maps, where it falls back to a GEMM-based convolution ~3x slower than the FLOPs need) by im2col and one GEMM:
// dW[(kh, kw, ci), co] = columns[(n, oh, ow), (kh, kw, ci)]ᵀ · dy[(n, oh, ow), co], which is already HWIO.
struct ConvBackwardWeights {
  bool viaGemm = false;
  dnnl::convolution_backward_weights prim;
  memory src, diffDst;
  Staged diffWeights;
  std::vector<float> columns;
  dnnl::matmul gemm;
  memory columnsT, dy, dw;
};

struct MatMul {
  dnnl::matmul prim;
  memory a, b, c;
};

// The cache holds every primitive kind keyed by op letter + shape; entries live until process exit (a model has a
// bounded set of shapes).
std::unordered_map<std::string, std::shared_ptr<void>> cache;

template <typename T, typename Make>
T& cached(const std::string& key, Make make) {
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, std::shared_ptr<void>(make())).first;
  return *static_cast<T*>(it->second.get());
}

const int64_t* convKeyData(const ConvShape& s) { return &s.n; }
constexpr size_t kConvKeyCount = sizeof(ConvShape) / sizeof(int64_t);

}  // namespace

void conv2d(const ConvShape& s, const float* x, const float* w, float* y) {
  auto& p = cached<ConvForward>(makeKey('F', convKeyData(s), kConvKeyCount), [&] {
    ConvDescs d(s);
    auto pd = d.forward();
    auto* e = new ConvForward{dnnl::convolution_forward(pd), memory(pd.src_desc(), cpuEngine(), DNNL_MEMORY_NONE),
                              memory(pd.dst_desc(), cpuEngine(), DNNL_MEMORY_NONE),
                              Staged(d.weightsUser, pd.weights_desc(), true)};
    return e;
  });
  p.src.set_data_handle(const_cast<float*>(x));
  p.dst.set_data_handle(y);
  p.weights.bind(w);
  p.weights.stageIn();
  p.prim.execute(cpuStream(), {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.weights.inner}, {DNNL_ARG_DST, p.dst}});
  cpuStream().wait();
}

void conv2dBackpropInput(const ConvShape& s, const float* dy, const float* w, float* dx) {
  auto& p = cached<ConvBackwardData>(makeKey('D', convKeyData(s), kConvKeyCount), [&] {
    ConvDescs d(s);
    dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, d.src, d.weightsAny, d.dst,
                                             d.strides, d.dilations, d.padL, d.padR);
    dnnl::convolution_backward_data::primitive_desc pd(bd, cpuEngine(), d.forward());
    return new ConvBackwardData{dnnl::convolution_backward_data(pd),
                                memory(pd.diff_dst_desc(), cpuEngine(), DNNL_MEMORY_NONE),
                                memory(pd.diff_src_desc(), cpuEngine(), DNNL_MEMORY_NONE),
                                Staged(d.weightsUser, pd.weights_desc(), true)};
  });
  p.diffDst.set_data_handle(const_cast<float*>(dy));
  p.diffSrc.set_data_handle(dx);
  p.weights.bind(w);
  p.weights.stageIn();
  p.prim.execute(cpuStream(),
                 {{DNNL_ARG_DIFF_DST, p.diffDst}, {DNNL_ARG_WEIGHTS, p.weights.inner}, {DNNL_ARG_DIFF_SRC, p.diffSrc}});
  cpuStream().wait();
}

namespace {

bool isJitConvolution(const std::string& impl) {
  return impl.find("gemm") == std::string::npos && impl.find("ref") == std::string::npos;
}

memory::desc matrixDesc(int rank, const int64_t* stored, bool transpose);

// columns[(n, oh, ow), (kh, kw, ci)] = x[n, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw, ci], zero outside the image.
void im2col(const ConvShape& s, const float* x, float* columns) {
  const int64_t rowLength = s.kh * s.kw * s.ic;
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t oh = 0; oh < s.oh; ++oh) {
      for (int64_t ow = 0; ow < s.ow; ++ow) {
        float* row = columns + ((n * s.oh + oh) * s.ow + ow) * rowLength;
        for (int64_t kh = 0; kh < s.kh; ++kh) {
          for (int64_t kw = 0; kw < s.kw; ++kw) {
            const int64_t ih = oh * s.sh - s.pt + kh * s.dh;
            const int64_t iw = ow * s.sw - s.pl + kw * s.dw;
            float* out = row + (kh * s.kw + kw) * s.ic;
            if (ih < 0 || ih >= s.ih || iw < 0 || iw >= s.iw) {
              std::fill(out, out + s.ic, 0.0f);
            } else {
              std::memcpy(out, x + ((n * s.ih + ih) * s.iw + iw) * s.ic, static_cast<size_t>(s.ic) * sizeof(float));
            }
          }
        }
      }
    }
  }
}

ConvBackwardWeights* makeConvBackwardWeights(const ConvShape& s, bool forceGemm) {
  ConvDescs d(s);
  dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, d.src, d.weightsAny, d.dst,
                                              d.strides, d.dilations, d.padL, d.padR);
  dnnl::convolution_backward_weights::primitive_desc pd(bd, cpuEngine(), d.forward());
  auto* p = new ConvBackwardWeights;
  if (!forceGemm && isJitConvolution(pd.impl_info_str())) {
    p->prim = dnnl::convolution_backward_weights(pd);
    p->src = memory(pd.src_desc(), cpuEngine(), DNNL_MEMORY_NONE);
    p->diffDst = memory(pd.diff_dst_desc(), cpuEngine(), DNNL_MEMORY_NONE);
    p->diffWeights = Staged(d.weightsUser, pd.diff_weights_desc(), false);
    return p;
  }
  p->viaGemm = true;
  const int64_t rows = s.n * s.oh * s.ow, rowLength = s.kh * s.kw * s.ic;
  p->columns.resize(static_cast<size_t>(rows * rowLength));
  const int64_t columnsDims[2] = {rows, rowLength}, dyDims[2] = {rows, s.oc}, dwDims[2] = {rowLength, s.oc};
  auto aMd = matrixDesc(2, columnsDims, true);
  auto bMd = matrixDesc(2, dyDims, false);
  auto cMd = matrixDesc(2, dwDims, false);
  p->gemm = dnnl::matmul(dnnl::matmul::primitive_desc(dnnl::matmul::desc(aMd, bMd, cMd), cpuEngine()));
  p->columnsT = memory(aMd, cpuEngine(), p->columns.data());
  p->dy = memory(bMd, cpuEngine(), DNNL_MEMORY_NONE);
  p->dw = memory(cMd, cpuEngine(), DNNL_MEMORY_NONE);
  return p;
}

}  // namespace

void conv2dBackpropFilter(const ConvShape& s, const float* x, const float* dy, float* dw) {
  // TINYLAB_NATIVE_FILTER_GRAD_GEMM=1 takes the im2col path for every shape: tests cover it on any CPU that way.
  const char* force = std::getenv("TINYLAB_NATIVE_FILTER_GRAD_GEMM");
  const bool forceGemm = force != nullptr && std::strcmp(force, "1") == 0;
  auto& p = cached<ConvBackwardWeights>(makeKey(forceGemm ? 'G' : 'W', convKeyData(s), kConvKeyCount),
                                        [&] { return makeConvBackwardWeights(s, forceGemm); });
  if (p.viaGemm) {
    im2col(s, x, p.columns.data());
    p.dy.set_data_handle(const_cast<float*>(dy));
    p.dw.set_data_handle(dw);
    p.gemm.execute(cpuStream(), {{DNNL_ARG_SRC, p.columnsT}, {DNNL_ARG_WEIGHTS, p.dy}, {DNNL_ARG_DST, p.dw}});
    cpuStream().wait();
    return;
  }
  p.src.set_data_handle(const_cast<float*>(x));
  p.diffDst.set_data_handle(const_cast<float*>(dy));
  p.diffWeights.bind(dw);
  p.prim.execute(cpuStream(),
                 {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DIFF_DST, p.diffDst}, {DNNL_ARG_DIFF_WEIGHTS, p.diffWeights.inner}});
  p.diffWeights.stageOut();
  cpuStream().wait();
}

namespace {

// Logical [..., rows, cols] view of a stored row-major tensor, transposed in the strides when asked: oneDNN reads
// the transpose for free, which is what wasm's BatchMatMul could not do (it materialised transposes).
memory::desc matrixDesc(int rank, const int64_t* stored, bool transpose) {
  memory::dims dims(stored, stored + rank);
  memory::dims strides(rank);
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= stored[i];
  }
  if (transpose) {
    std::swap(dims[rank - 1], dims[rank - 2]);
    std::swap(strides[rank - 1], strides[rank - 2]);
  }
  return memory::desc(dims, dt::f32, strides);
}

}  // namespace

void batchMatMul(int rank, const int64_t* aDims, const int64_t* bDims, bool transA, bool transB, const float* a,
                 const float* b, float* c) {
  std::vector<int64_t> keyData(aDims, aDims + rank);
  keyData.insert(keyData.end(), bDims, bDims + rank);
  keyData.push_back(transA);
  keyData.push_back(transB);
  auto& p = cached<MatMul>(makeKey('M', keyData.data(), keyData.size()), [&] {
    auto aMd = matrixDesc(rank, aDims, transA);
    auto bMd = matrixDesc(rank, bDims, transB);
    memory::dims cDims(rank);
    for (int i = 0; i < rank - 2; ++i) cDims[i] = std::max(aDims[i], bDims[i]);
    cDims[rank - 2] = aMd.dims()[rank - 2];
    cDims[rank - 1] = bMd.dims()[rank - 1];
    auto cMd = matrixDesc(rank, cDims.data(), false);
    dnnl::matmul::desc d(aMd, bMd, cMd);
    dnnl::matmul::primitive_desc pd(d, cpuEngine());
    return new MatMul{dnnl::matmul(pd), memory(aMd, cpuEngine(), DNNL_MEMORY_NONE),
                      memory(bMd, cpuEngine(), DNNL_MEMORY_NONE), memory(cMd, cpuEngine(), DNNL_MEMORY_NONE)};
  });
  p.a.set_data_handle(const_cast<float*>(a));
  p.b.set_data_handle(const_cast<float*>(b));
  p.c.set_data_handle(c);
  p.prim.execute(cpuStream(), {{DNNL_ARG_SRC, p.a}, {DNNL_ARG_WEIGHTS, p.b}, {DNNL_ARG_DST, p.c}});
  cpuStream().wait();
}

namespace {

struct MaxPoolBackward {
  dnnl::pooling_forward forward;
  dnnl::pooling_backward backward;
  memory src, dstScratch, workspace, diffDst, diffSrc;
};

}  // namespace

void maxPoolGrad(const PoolShape& s, const float* x, const float* dy, float* dx) {
  auto& p = cached<MaxPoolBackward>(makeKey('P', &s.n, sizeof(PoolShape) / sizeof(int64_t)), [&] {
    memory::desc src({s.n, s.c, s.ih, s.iw}, dt::f32, tag::nhwc);
    memory::desc dst({s.n, s.c, s.oh, s.ow}, dt::f32, tag::nhwc);
    memory::dims strides{s.sh, s.sw}, kernel{s.kh, s.kw}, padL{s.pt, s.pl}, padR{s.pb, s.pr};
    dnnl::pooling_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::pooling_max, src, dst, strides,
                                   kernel, padL, padR);
    dnnl::pooling_forward::primitive_desc fpd(fd, cpuEngine());
    dnnl::pooling_backward::desc bd(dnnl::algorithm::pooling_max, src, dst, strides, kernel, padL, padR);
    dnnl::pooling_backward::primitive_desc bpd(bd, cpuEngine(), fpd);
    return new MaxPoolBackward{dnnl::pooling_forward(fpd),
                               dnnl::pooling_backward(bpd),
                               memory(src, cpuEngine(), DNNL_MEMORY_NONE),
                               memory(fpd.dst_desc(), cpuEngine()),
                               memory(fpd.workspace_desc(), cpuEngine()),
                               memory(bpd.diff_dst_desc(), cpuEngine(), DNNL_MEMORY_NONE),
                               memory(bpd.diff_src_desc(), cpuEngine(), DNNL_MEMORY_NONE)};
  });
  p.src.set_data_handle(const_cast<float*>(x));
  p.diffDst.set_data_handle(const_cast<float*>(dy));
  p.diffSrc.set_data_handle(dx);
  p.forward.execute(cpuStream(), {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dstScratch}, {DNNL_ARG_WORKSPACE, p.workspace}});
  p.backward.execute(cpuStream(),
                     {{DNNL_ARG_DIFF_DST, p.diffDst}, {DNNL_ARG_WORKSPACE, p.workspace}, {DNNL_ARG_DIFF_SRC, p.diffSrc}});
  cpuStream().wait();
}

// Single-threaded on purpose: a reduction streams its input once (memory-bound, ~1 ms for a 16 MiB activation), and
// an OpenMP team made it 10x slower whenever another process held one of the cores (spinning barrier).
void reduceSum(const float* x, float* y, int64_t outer, int64_t reduce, int64_t inner, float scale) {
  if (inner == 1) {
    // Rows: eight independent accumulators let the compiler vectorise without -ffast-math.
    for (int64_t o = 0; o < outer; ++o) {
      const float* row = x + o * reduce;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t r = 0;
      for (; r + 8 <= reduce; r += 8)
        for (int k = 0; k < 8; ++k) acc[k] += row[r + k];
      float total = 0;
      for (; r < reduce; ++r) total += row[r];
      for (int k = 0; k < 8; ++k) total += acc[k];
      y[o] = total * scale;
    }
    return;
  }
  // Blocks of 256 rows summed separately, then added: keeps float32 rounding error near that of a pairwise sum
  // over the 65,536 rows of a batch-norm statistic.
  constexpr int64_t kBlock = 256;
  std::vector<float> block(static_cast<size_t>(inner));
  for (int64_t o = 0; o < outer; ++o) {
    float* out = y + o * inner;
    std::fill(out, out + inner, 0.0f);
    for (int64_t r0 = 0; r0 < reduce; r0 += kBlock) {
      std::fill(block.begin(), block.end(), 0.0f);
      const int64_t r1 = std::min(reduce, r0 + kBlock);
      for (int64_t r = r0; r < r1; ++r) {
        const float* row = x + (o * reduce + r) * inner;
        for (int64_t i = 0; i < inner; ++i) block[i] += row[i];
      }
      for (int64_t i = 0; i < inner; ++i) out[i] += block[i];
    }
    for (int64_t i = 0; i < inner; ++i) out[i] *= scale;
  }
}

namespace {

// Writes the tile of dims [dim, rank) for one input block, then replicates it reps[dim] - 1 times by memcpy.
void tileDim(int dim, int rank, const int64_t* inShape, const int64_t* reps, const int64_t* inStride,
             const int64_t* outStride, const uint8_t* x, uint8_t* y) {
  const int64_t block = inShape[dim] * outStride[dim];  // bytes of one repetition along dim
  if (dim == rank - 1) {
    std::memcpy(y, x, static_cast<size_t>(block));
  } else {
    for (int64_t i = 0; i < inShape[dim]; ++i)
      tileDim(dim + 1, rank, inShape, reps, inStride, outStride, x + i * inStride[dim], y + i * outStride[dim]);
  }
  for (int64_t r = 1; r < reps[dim]; ++r) std::memcpy(y + r * block, y, static_cast<size_t>(block));
}

}  // namespace

void tile(int rank, const int64_t* inShape, const int64_t* reps, int64_t elementBytes, const uint8_t* x, uint8_t* y) {
  std::vector<int64_t> inStride(rank), outStride(rank);
  int64_t in = elementBytes, out = elementBytes;
  for (int d = rank - 1; d >= 0; --d) {
    inStride[d] = in;
    outStride[d] = out;
    in *= inShape[d];
    out *= inShape[d] * reps[d];
  }
  tileDim(0, rank, inShape, reps, inStride.data(), outStride.data(), x, y);
}

namespace {

struct Eltwise {
  dnnl::eltwise_forward prim;
  memory src, dst;
};

}  // namespace

void exp(const float* x, float* y, int64_t n) {
  auto& p = cached<Eltwise>(makeKey('E', &n, 1), [&] {
    memory::desc md({n}, dt::f32, tag::a);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::eltwise_exp, md);
    dnnl::eltwise_forward::primitive_desc pd(d, cpuEngine());
    return new Eltwise{dnnl::eltwise_forward(pd), memory(md, cpuEngine(), DNNL_MEMORY_NONE), memory(md, cpuEngine(), DNNL_MEMORY_NONE)};
  });
  p.src.set_data_handle(const_cast<float*>(x));
  p.dst.set_data_handle(y);
  p.prim.execute(cpuStream(), {{DNNL_ARG_SRC, p.src}, {DNNL_ARG_DST, p.dst}});
  cpuStream().wait();
}

namespace {

struct LogSoftmax {
  dnnl::logsoftmax_forward forward;
  memory x, y;
};

}  // namespace

void logSoftmax(const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t shape[2] = {rows, cols};
  auto& p = cached<LogSoftmax>(makeKey('L', shape, 2), [&] {
    memory::desc md({rows, cols}, dt::f32, tag::ab);
    dnnl::logsoftmax_forward::primitive_desc pd(
        dnnl::logsoftmax_forward::desc(dnnl::prop_kind::forward_training, md, 1), cpuEngine());
    return new LogSoftmax{dnnl::logsoftmax_forward(pd), memory(md, cpuEngine(), DNNL_MEMORY_NONE),
                          memory(md, cpuEngine(), DNNL_MEMORY_NONE)};
  });
  p.x.set_data_handle(const_cast<float*>(x));
  p.y.set_data_handle(y);
  p.forward.execute(cpuStream(), {{DNNL_ARG_SRC, p.x}, {DNNL_ARG_DST, p.y}});
  cpuStream().wait();
}

// oneDNN 2.6's log-softmax backward has only its reference implementation (~10x slower than this on AVX2): the row
// sums Σ dy (reduceSum), exp(y) by the JIT eltwise, then one pass for dx = dy - exp(y)·Σ dy.
void logSoftmaxGrad(const float* dy, const float* y, float* dx, int64_t rows, int64_t cols) {
  std::vector<float> totals(static_cast<size_t>(rows));
  reduceSum(dy, totals.data(), rows, cols, 1, 1.0f);
  exp(y, dx, rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy + r * cols;
    float* out = dx + r * cols;
    const float total = totals[static_cast<size_t>(r)];
    for (int64_t c = 0; c < cols; ++c) out[c] = g[c] - out[c] * total;
  }
}

namespace {

// Per-channel sums of f(row) over [rows, channels], in float blocks of 256 rows added into double totals: float-speed
// inner loops (vectorised over channels) with rounding error that does not grow with N·H·W.
template <typename RowTerms>
void channelSums(int64_t rows, int64_t channels, int terms, double* totals, RowTerms addRow) {
  constexpr int64_t kBlock = 256;
  std::vector<float> block(static_cast<size_t>(terms * channels));
  std::fill(totals, totals + terms * channels, 0.0);
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    std::fill(block.begin(), block.end(), 0.0f);
    const int64_t r1 = std::min(rows, r0 + kBlock);
    for (int64_t r = r0; r < r1; ++r) addRow(r, block.data());
    for (int64_t i = 0; i < terms * channels; ++i) totals[i] += block[i];
  }
}

}  // namespace

void batchNormTraining(const float* x, const float* gamma, const float* beta, int64_t rows, int64_t channels, float eps,
                       float* y, float* mean, float* variance, float* rstd) {
  // Shifted sums (shift = the first row) give the variance in one pass without E[x²] - E[x]²'s cancellation.
  std::vector<double> totals(static_cast<size_t>(2 * channels));
  const float* shift = x;
  channelSums(rows, channels, 2, totals.data(), [&](int64_t r, float* acc) {
    const float* row = x + r * channels;
    float* sum = acc;
    float* squares = acc + channels;
    for (int64_t c = 0; c < channels; ++c) {
      const float d = row[c] - shift[c];
      sum[c] += d;
      squares[c] += d * d;
    }
  });
  std::vector<float> scale(static_cast<size_t>(channels)), offset(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    const double m = totals[c] / static_cast<double>(rows);
    const double var = std::max(0.0, totals[channels + c] / static_cast<double>(rows) - m * m);
    mean[c] = static_cast<float>(shift[c] + m);
    variance[c] = static_cast<float>(var);
    rstd[c] = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    scale[c] = gamma[c] * rstd[c];
    offset[c] = beta[c] - mean[c] * scale[c];
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x + r * channels;
    float* out = y + r * channels;
    for (int64_t c = 0; c < channels; ++c) out[c] = in[c] * scale[c] + offset[c];
  }
}

void batchNormTrainingGrad(const float* dy, const float* x, const float* mean, const float* rstd, const float* gamma,
                           int64_t rows, int64_t channels, float* dx, float* dgamma, float* dbeta) {
  std::vector<double> totals(static_cast<size_t>(2 * channels));
  channelSums(rows, channels, 2, totals.data(), [&](int64_t r, float* acc) {
    const float* g = dy + r * channels;
    const float* in = x + r * channels;
    float* sumDy = acc;
    float* sumDyCentred = acc + channels;
    for (int64_t c = 0; c < channels; ++c) {
      sumDy[c] += g[c];
      sumDyCentred[c] += g[c] * (in[c] - mean[c]);
    }
  });
  // dx = k·dy + a·x + b per channel, with k = γ·rstd, a = -k·rstd²·Σdy·(x-μ)/m, b = -k·Σdy/m - a·μ.
  std::vector<float> k(static_cast<size_t>(channels)), a(static_cast<size_t>(channels)), b(static_cast<size_t>(channels));
  const double m = static_cast<double>(rows);
  for (int64_t c = 0; c < channels; ++c) {
    const double kc = static_cast<double>(gamma[c]) * rstd[c];
    const double ac = -kc * rstd[c] * rstd[c] * totals[channels + c] / m;
    k[c] = static_cast<float>(kc);
    a[c] = static_cast<float>(ac);
    b[c] = static_cast<float>(-kc * totals[c] / m - ac * mean[c]);
    dgamma[c] = static_cast<float>(rstd[c] * totals[channels + c]);
    dbeta[c] = static_cast<float>(totals[c]);
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dy + r * channels;
    const float* in = x + r * channels;
    float* out = dx + r * channels;
    for (int64_t c = 0; c < channels; ++c) out[c] = k[c] * g[c] + a[c] * in[c] + b[c];
  }
}

void sgdMomentum(const SgdOptions& o, const float* p, const float* g, const float* buf, int64_t n, float* pOut,
                 float* bufOut) {
  // The same float32 operations in the same order as torch's _single_tensor_sgd (add, mul_/add_, add_(alpha=-lr)),
  // so replays match PyTorch to rounding.
  const float keep = 1.0f - o.dampening;
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + o.weightDecay * p[i];
    const float b = o.momentum * buf[i] + keep * d;
    const float step = o.nesterov ? d + o.momentum * b : b;
    bufOut[i] = b;
    pOut[i] = p[i] - o.lr * step;
  }
}

int maxThreads() { return omp_get_max_threads(); }

void setThreads(int n) { omp_set_num_threads(n); }

const char* cpuIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::sse41: return "sse41";
    default: return "other";
  }
}

const char* libraryVersion() {
  static std::string v;
  if (v.empty()) {
    const dnnl_version_t* info = dnnl_version();
    v = std::to_string(info->major) + "." + std::to_string(info->minor) + "." + std::to_string(info->patch);
  }
  return v.c_str();
}

size_t cachedPrimitives() { return cache.size(); }

}  // namespace tinylab
