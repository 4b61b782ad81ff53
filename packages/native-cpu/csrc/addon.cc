// N-API surface of the addon. Every kernel takes the wasm heap (a Uint8Array over the WebAssembly.Memory buffer,
// shared or not), byte offsets of its tensors inside it, and an Int32Array of shape parameters; it computes in place
// into the output's bytes. Offsets are bounds-checked here so a wrong offset throws instead of corrupting the heap.
#include <node_api.h>

#include <cstdint>
#include <algorithm>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "primitives.h"

namespace {

struct CallError : std::exception {
  std::string message;
  explicit CallError(std::string m) : message(std::move(m)) {}
};

void check(napi_env env, napi_status status, const char* what) {
  if (status != napi_ok) throw CallError(std::string("native-cpu: ") + what);
}

struct Heap {
  uint8_t* base = nullptr;
  size_t length = 0;
  float* at(int64_t offset, int64_t floats, const char* name) const {
    if (offset < 0 || offset % 4 != 0 || static_cast<size_t>(offset + floats * 4) > length)
      throw CallError(std::string("native-cpu: ") + name + " offset " + std::to_string(offset) + " (+" +
                      std::to_string(floats * 4) + " bytes) is outside the heap of " + std::to_string(length) +
                      " bytes");
    return reinterpret_cast<float*>(base + offset);
  }
};

// The elements of a typed array argument, after checking its type; `requirement` says what the argument must be.
template <typename T>
std::pair<T*, size_t> typedArrayArg(napi_env env, napi_value value, napi_typedarray_type want,
                                    const std::string& requirement) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t byteOffset;
  check(env, napi_get_typedarray_info(env, value, &type, &length, &data, &buffer, &byteOffset), requirement.c_str());
  if (type != want) throw CallError("native-cpu: " + requirement);
  return {static_cast<T*>(data), length};
}

Heap heapArg(napi_env env, napi_value value) {
  auto [data, length] = typedArrayArg<uint8_t>(env, value, napi_uint8_array, "heap must be a Uint8Array over the wasm memory");
  return Heap{data, length};
}

std::vector<int64_t> intsArg(napi_env env, napi_value value) {
  auto [p, length] = typedArrayArg<const int32_t>(env, value, napi_int32_array, "params must be an Int32Array");
  return std::vector<int64_t>(p, p + length);
}

int64_t offsetArg(napi_env env, napi_value value) {
  double d;
  check(env, napi_get_value_double(env, value, &d), "offsets must be numbers");
  return static_cast<int64_t>(d);
}

// A Float64Array of exactly `count` numbers (byte offsets of several tensors, or optimizer hyper-parameters).
std::vector<double> doublesArg(napi_env env, napi_value value, size_t count, const char* what) {
  const std::string requirement = std::string(what) + " must be a Float64Array of " + std::to_string(count);
  auto [d, length] = typedArrayArg<const double>(env, value, napi_float64_array, requirement);
  if (length != count) throw CallError("native-cpu: " + requirement);
  return std::vector<double>(d, d + length);
}

std::vector<int64_t> offsetsArg(napi_env env, napi_value value, size_t count) {
  auto d = doublesArg(env, value, count, "offsets");
  return std::vector<int64_t>(d.begin(), d.end());
}

// [rows, channels] of the fused batch-norm kernels, both >= 1.
std::pair<int64_t, int64_t> rowsChannelsArg(napi_env env, napi_value value) {
  auto p = intsArg(env, value);
  if (p.size() != 2 || p[0] < 1 || p[1] < 1) throw CallError("native-cpu: params must be [rows, channels] (both >= 1)");
  return {p[0], p[1]};
}

template <size_t N>
void args(napi_env env, napi_callback_info info, napi_value (&argv)[N]) {
  size_t argc = N;
  check(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr), "bad call");
  if (argc != N) throw CallError("native-cpu: expected " + std::to_string(N) + " arguments");
}

tinylab::ConvShape convShape(const std::vector<int64_t>& p) {
  if (p.size() != 17) throw CallError("native-cpu: conv params must have 17 entries");
  return tinylab::ConvShape{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8],
                            p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]};
}

template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const CallError& e) {
    napi_throw_error(env, nullptr, e.message.c_str());
  } catch (const std::exception& e) {
    napi_throw_error(env, nullptr, (std::string("native-cpu (oneDNN): ") + e.what()).c_str());
  }
  return nullptr;
}

// (heap, aOffset, bOffset, outOffset, params) -> undefined, for the three convolution kernels.
template <int Which>
napi_value convCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[5];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto s = convShape(intsArg(env, argv[4]));
    int64_t xSize = s.n * s.ih * s.iw * s.ic, wSize = s.kh * s.kw * s.ic * s.oc, ySize = s.n * s.oh * s.ow * s.oc;
    int64_t a = offsetArg(env, argv[1]), b = offsetArg(env, argv[2]), out = offsetArg(env, argv[3]);
    if (Which == 0)
      tinylab::conv2d(s, heap.at(a, xSize, "x"), heap.at(b, wSize, "filter"), heap.at(out, ySize, "y"));
    else if (Which == 1)
      tinylab::conv2dBackpropInput(s, heap.at(a, ySize, "dy"), heap.at(b, wSize, "filter"),
                                   heap.at(out, xSize, "dx"));
    else
      tinylab::conv2dBackpropFilter(s, heap.at(a, xSize, "x"), heap.at(b, ySize, "dy"),
                                    heap.at(out, wSize, "dw"));
    return nullptr;
  });
}

int64_t product(const int64_t* d, int n) {
  int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= d[i];
  return p;
}

// (heap, aOffset, bOffset, outOffset, params = [rank, transA, transB, ...aDims, ...bDims]) -> undefined.
napi_value matMulCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[5];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto p = intsArg(env, argv[4]);
    if (p.size() < 3) throw CallError("native-cpu: matmul params too short");
    int rank = static_cast<int>(p[0]);
    if (rank < 2 || rank > 6 || p.size() != static_cast<size_t>(3 + 2 * rank))
      throw CallError("native-cpu: matmul params must be [rank, transA, transB, ...aDims, ...bDims], rank 2..6");
    const int64_t* aDims = p.data() + 3;
    const int64_t* bDims = aDims + rank;
    bool transA = p[1] != 0, transB = p[2] != 0;
    int64_t m = transA ? aDims[rank - 1] : aDims[rank - 2];
    int64_t n = transB ? bDims[rank - 2] : bDims[rank - 1];
    int64_t batch = 1;
    for (int i = 0; i < rank - 2; ++i) {
      if (aDims[i] != bDims[i] && aDims[i] != 1 && bDims[i] != 1)
        throw CallError("native-cpu: matmul batch dims do not broadcast");
      batch *= std::max(aDims[i], bDims[i]);
    }
    tinylab::batchMatMul(rank, aDims, bDims, transA, transB,
                         heap.at(offsetArg(env, argv[1]), product(aDims, rank), "a"),
                         heap.at(offsetArg(env, argv[2]), product(bDims, rank), "b"),
                         heap.at(offsetArg(env, argv[3]), batch * m * n, "c"));
    return nullptr;
  });
}

// (heap, xOffset, dyOffset, dxOffset, params = 14 pool ints) -> undefined.
napi_value maxPoolGradCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[5];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto p = intsArg(env, argv[4]);
    if (p.size() != 14) throw CallError("native-cpu: pool params must have 14 entries");
    tinylab::PoolShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13]};
    const int64_t xSize = s.n * s.ih * s.iw * s.c, ySize = s.n * s.oh * s.ow * s.c;
    tinylab::maxPoolGrad(s, heap.at(offsetArg(env, argv[1]), xSize, "x"), heap.at(offsetArg(env, argv[2]), ySize, "dy"),
                         heap.at(offsetArg(env, argv[3]), xSize, "dx"));
    return nullptr;
  });
}

// (heap, xOffset, yOffset, params = [outer, reduce, inner], scale) -> undefined.
napi_value reduceSumCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[5];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto p = intsArg(env, argv[3]);
    if (p.size() != 3) throw CallError("native-cpu: reduce params must be [outer, reduce, inner]");
    double scale;
    check(env, napi_get_value_double(env, argv[4], &scale), "scale must be a number");
    tinylab::reduceSum(heap.at(offsetArg(env, argv[1]), p[0] * p[1] * p[2], "x"),
                       heap.at(offsetArg(env, argv[2]), p[0] * p[2], "y"), p[0], p[1], p[2], static_cast<float>(scale));
    return nullptr;
  });
}

// (heap, xOffset, yOffset, params = [n]) -> undefined: y = exp(x) over n floats.
napi_value expCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto p = intsArg(env, argv[3]);
    if (p.size() != 1 || p[0] <= 0) throw CallError("native-cpu: exp params must be [n > 0]");
    tinylab::exp(heap.at(offsetArg(env, argv[1]), p[0], "x"), heap.at(offsetArg(env, argv[2]), p[0], "y"), p[0]);
    return nullptr;
  });
}

// The shared shape of the row-wise kernels' calls: (heap, offsets = Float64Array of `Count` tensors, params =
// [rows, cols]) -> undefined; `run(heap, offsets, rows, cols)` binds the tensors and runs the kernel.
template <size_t Count, typename Run>
napi_value rowsColsCall(napi_env env, napi_callback_info info, Run run) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[3];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto o = offsetsArg(env, argv[1], Count);
    auto [rows, cols] = rowsChannelsArg(env, argv[2]);
    run(heap, o, rows, cols);
    return nullptr;
  });
}

// offsets [x, y]: y = log_softmax(x) over the last axis.
napi_value logSoftmaxCall(napi_env env, napi_callback_info info) {
  return rowsColsCall<2>(env, info, [](Heap& heap, const std::vector<int64_t>& o, int64_t rows, int64_t cols) {
    tinylab::logSoftmax(heap.at(o[0], rows * cols, "x"), heap.at(o[1], rows * cols, "y"), rows, cols);
  });
}

// offsets [dy, y, dx]: dx = dy - exp(y)·Σ dy per row.
napi_value logSoftmaxGradCall(napi_env env, napi_callback_info info) {
  return rowsColsCall<3>(env, info, [](Heap& heap, const std::vector<int64_t>& o, int64_t rows, int64_t cols) {
    const int64_t n = rows * cols;
    tinylab::logSoftmaxGrad(heap.at(o[0], n, "dy"), heap.at(o[1], n, "y"), heap.at(o[2], n, "dx"), rows, cols);
  });
}

// (heap, offsets = Float64Array [x, gamma, beta, y, mean, variance, rstd], params = [rows, channels], eps) -> undefined.
napi_value batchNormTrainingCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto o = offsetsArg(env, argv[1], 7);
    auto [rows, c] = rowsChannelsArg(env, argv[2]);
    double eps;
    check(env, napi_get_value_double(env, argv[3], &eps), "eps must be a number");
    const int64_t n = rows * c;
    tinylab::batchNormTraining(heap.at(o[0], n, "x"), heap.at(o[1], c, "gamma"), heap.at(o[2], c, "beta"), rows, c,
                               static_cast<float>(eps), heap.at(o[3], n, "y"), heap.at(o[4], c, "mean"),
                               heap.at(o[5], c, "variance"), heap.at(o[6], c, "rstd"));
    return nullptr;
  });
}

// (heap, offsets = Float64Array [dy, x, mean, rstd, gamma, dx, dgamma, dbeta], params = [rows, channels]) -> undefined.
napi_value batchNormTrainingGradCall(napi_env env, napi_callback_info info) {
  return rowsColsCall<8>(env, info, [](Heap& heap, const std::vector<int64_t>& o, int64_t rows, int64_t c) {
    const int64_t n = rows * c;
    tinylab::batchNormTrainingGrad(heap.at(o[0], n, "dy"), heap.at(o[1], n, "x"), heap.at(o[2], c, "mean"),
                                   heap.at(o[3], c, "rstd"), heap.at(o[4], c, "gamma"), rows, c, heap.at(o[5], n, "dx"),
                                   heap.at(o[6], c, "dgamma"), heap.at(o[7], c, "dbeta"));
  });
}

// (heap, offsets = Float64Array [p, g, buf, pOut, bufOut], n, options = Float64Array [lr, momentum, dampening,
// weightDecay, nesterov]) -> undefined.
napi_value sgdMomentumCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto o = offsetsArg(env, argv[1], 5);
    const int64_t n = offsetArg(env, argv[2]);
    auto opt = doublesArg(env, argv[3], 5, "sgd options");
    if (n < 1) throw CallError("native-cpu: sgd needs n >= 1");
    tinylab::SgdOptions options{static_cast<float>(opt[0]), static_cast<float>(opt[1]), static_cast<float>(opt[2]),
                                static_cast<float>(opt[3]), opt[4] != 0};
    tinylab::sgdMomentum(options, heap.at(o[0], n, "param"), heap.at(o[1], n, "grad"), heap.at(o[2], n, "buffer"), n,
                         heap.at(o[3], n, "param out"), heap.at(o[4], n, "buffer out"));
    return nullptr;
  });
}

// (heap, xOffset, yOffset, params = [rank, elementBytes, ...inShape, ...reps]) -> undefined.
napi_value tileCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[4];
    args(env, info, argv);
    Heap heap = heapArg(env, argv[0]);
    auto p = intsArg(env, argv[3]);
    if (p.size() < 2) throw CallError("native-cpu: tile params too short");
    const int rank = static_cast<int>(p[0]);
    const int64_t bytes = p[1];
    if (rank < 1 || (bytes != 1 && bytes != 4) || p.size() != static_cast<size_t>(2 + 2 * rank))
      throw CallError("native-cpu: tile params must be [rank, elementBytes (1|4), ...inShape, ...reps]");
    const int64_t* inShape = p.data() + 2;
    const int64_t* reps = inShape + rank;
    int64_t inCount = 1, outCount = 1;
    for (int d = 0; d < rank; ++d) {
      inCount *= inShape[d];
      outCount *= inShape[d] * reps[d];
    }
    const int64_t x = offsetArg(env, argv[1]), y = offsetArg(env, argv[2]);
    if (x < 0 || y < 0 || static_cast<size_t>(x + inCount * bytes) > heap.length ||
        static_cast<size_t>(y + outCount * bytes) > heap.length)
      throw CallError("native-cpu: tile offsets are outside the heap");
    tinylab::tile(rank, inShape, reps, bytes, heap.base + x, heap.base + y);
    return nullptr;
  });
}

napi_value setThreadsCall(napi_env env, napi_callback_info info) {
  return guarded(env, [&]() -> napi_value {
    napi_value argv[1];
    args(env, info, argv);
    int32_t n;
    check(env, napi_get_value_int32(env, argv[0], &n), "threads must be a number");
    if (n < 1) throw CallError("native-cpu: threads must be >= 1");
    tinylab::setThreads(n);
    return nullptr;
  });
}

napi_value infoCall(napi_env env, napi_callback_info) {
  return guarded(env, [&]() -> napi_value {
    napi_value obj, v;
    check(env, napi_create_object(env, &obj), "object");
    check(env, napi_create_string_utf8(env, tinylab::libraryVersion(), NAPI_AUTO_LENGTH, &v), "string");
    check(env, napi_set_named_property(env, obj, "onednn", v), "property");
    check(env, napi_create_string_utf8(env, tinylab::cpuIsa(), NAPI_AUTO_LENGTH, &v), "string");
    check(env, napi_set_named_property(env, obj, "isa", v), "property");
    check(env, napi_create_int32(env, tinylab::maxThreads(), &v), "int");
    check(env, napi_set_named_property(env, obj, "threads", v), "property");
    check(env, napi_create_int32(env, static_cast<int32_t>(tinylab::cachedPrimitives()), &v), "int");
    check(env, napi_set_named_property(env, obj, "cachedPrimitives", v), "property");
    return obj;
  });
}

napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, convCall<0>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, convCall<1>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, convCall<2>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchMatMul", nullptr, matMulCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, maxPoolGradCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reduceSum", nullptr, reduceSumCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tile", nullptr, tileCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTraining", nullptr, batchNormTrainingCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormTrainingGrad", nullptr, batchNormTrainingGradCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdMomentum", nullptr, sgdMomentumCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"exp", nullptr, expCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"logSoftmax", nullptr, logSoftmaxCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"logSoftmaxGrad", nullptr, logSoftmaxGradCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setThreads", nullptr, setThreadsCall, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, infoCall, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
