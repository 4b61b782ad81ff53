// Fusion over a traced step: patterns of recorded dispatches that ResNet-style training issues over and over are
// replaced by one dispatch of a pipeline written here, computing the same floats in the same order:
//
// - ReLU's gradient, tfjs's Step(x) then Multiply(dy, step): one `dy·step(x)` (and `(dA + dB)·step(x)` when dy is the
//   sum of two gradients, as where a residual block's input feeds two branches);
// - ReLU after batch-norm apply, after an Add, or after batch-norm apply + residual Add: one dispatch writing the ReLU's
//   output (the backward's step(x) reads the ReLU's output instead of its input: the same 0/1 wherever x is not NaN,
//   and NaN where x is NaN, as relu(NaN) = NaN);
// - batch-norm statistics followed by the running-statistics update: one dispatch;
// - a sum over every axis but the last (tfjs: a transpose moving the last axis first, then a row sum; a linear
//   layer's bias gradient): one dispatch of column sums, added in the row sum's order;
// - runs of adjacent multiplications of whole tensors by the same one-element tensor (gradient clipping's scale):
//   one dispatch per group of tensors, as many as the storage-buffer limit allows;
// - tf.dropout's mask and its use, Add(noise, keep) → Floor → Div(·, keep) → Multiply(x, mask): one dispatch writing
//   x·mask and the mask (the gradient multiplies by it later), and with the residual Add that may read the product
//   (a Transformer layer's h + dropout(attn)), one dispatch writing h + x·mask and the mask;
//
// A pattern is fused only when the values it removes are temporaries no other dispatch, output or variable reads.
// The fused dispatch takes the place of the last dispatch it replaces (every input is computed by then), or of the
// first when a later dispatch reads one of its outputs in between.
import { CHANNELS, channelSumWgsl, LANES } from '../programs/batch_norm_training_webgpu'
import type { RecordedDispatch } from './backend-hooks'
import type { Trace } from './trace'

type DataId = object

const WORKGROUP = 256
const UNIFORM_BYTES = 32

/** WGSL shared by the fused pipelines: the uniform block and NaN tests as tfjs's own shaders do them. */
const PRELUDE = `
struct Uniforms { size: i32, channels: i32, p0: f32, p1: f32, p2: f32, pad0: i32, pad1: i32, pad2: i32 }
fn isNanF32(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
// tfjs's Step: NaN stays NaN, else 1 above zero and alpha elsewhere.
fn stepOf(a: f32, alpha: f32) -> f32 { if (isNanF32(a)) { return a; } return select(alpha, 1.0, a > 0.0); }
// tfjs's Relu.
fn reluOf(a: f32) -> f32 { return select(a, 0.0, a < 0.0); }
`

function bindings(inputs: readonly string[], extraOutputs: readonly string[] = []): string {
  const n = inputs.length
  return [
    '@group(0) @binding(0) var<storage, read_write> result: array<f32>;',
    ...inputs.map((name, i) => `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<f32>;`),
    ...extraOutputs.map((name, i) => `@group(0) @binding(${n + i + 1}) var<storage, read_write> ${name}: array<f32>;`),
    `@group(0) @binding(${n + extraOutputs.length + 1}) var<uniform> uniforms: Uniforms;`,
  ].join('\n')
}

function elementwise(inputs: readonly string[], body: string): string {
  return `${PRELUDE}
${bindings(inputs)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = i32(gid.y * groups.x * ${WORKGROUP}u + gid.x);
  if (index >= uniforms.size) { return; }
  let c = index % uniforms.channels;
  ${body}
}`
}

// The batch-norm apply expression of programs/batch_norm_training_webgpu.ts, operation for operation.
const BN_APPLY = '(x[index] - mean[c]) * (gamma[c] * rstd[c]) + beta[c]'

/** The sums of BatchNormStatsProgram (same lanes, same order) and BatchNormRunningStatsProgram's update; size = rows. */
const STATS_RUNNING = `${PRELUDE}
${bindings(['x', 'runningMean', 'runningVar'], ['variance', 'rstd', 'nextMean', 'nextVar'])}
var<workgroup> partial: array<f32, ${CHANNELS * LANES}>;
@compute @workgroup_size(${CHANNELS}, ${LANES}, 1)
fn main(@builtin(local_invocation_id) localId: vec3<u32>, @builtin(workgroup_id) workgroupId: vec3<u32>) {
  let ch = localId.x;
  let lane = localId.y;
  let c = i32(workgroupId.x) * ${CHANNELS} + i32(ch);
  let n = f32(uniforms.size);
  var sum = 0.0;
  ${channelSumWgsl('sum', 'x[i]', 'uniforms.size')}
  let mean = sum / n;
  var squares = 0.0;
  ${channelSumWgsl('squares', '(x[i] - mean) * (x[i] - mean)', 'uniforms.size')}
  if (lane == 0u && c < uniforms.channels) {
    let v = squares / n;
    result[c] = mean;
    variance[c] = v;
    rstd[c] = inverseSqrt(v + uniforms.p0);
    let keep = 1.0 - uniforms.p1;
    nextMean[c] = runningMean[c] * keep + mean * uniforms.p1;
    nextVar[c] = runningVar[c] * keep + (v * uniforms.p2) * uniforms.p1;
  }
}`

/**
 * result[c] = Σ_r x[r·C + c] in tfjs 4.22 ReduceProgram's order (a workgroup of `lanes` per output, lane l summing
 * rows l, l + lanes, … in order, then its halving tree), reading x in place of its transpose; size = C, channels = rows.
 */
function columnSumShader(lanes: number): string {
  return `${PRELUDE}
${bindings(['x'])}
var<workgroup> lanesSum: array<f32, ${lanes}>;
@compute @workgroup_size(${lanes})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let col = i32(wg.y * groups.x + wg.x);
  let l = lid.x;
  let rows = uniforms.channels;
  var best = 0.0;
  if (col < uniforms.size) {
    for (var k = i32(l); k < rows; k = k + ${lanes}) { best = best + x[k * uniforms.size + col]; }
  }
  lanesSum[l] = best;
  workgroupBarrier();
  var reduceSize = min(u32(rows), ${lanes}u);
  for (var current = reduceSize / 2u; reduceSize > 1u; current = reduceSize / 2u) {
    let interval = (reduceSize - 1u) / 2u + 1u;
    if (l < current) {
      best = best + lanesSum[l + interval];
      lanesSum[l] = best;
    }
    reduceSize = interval;
    workgroupBarrier();
  }
  if (l == 0u && col < uniforms.size) { result[col] = best; }
}`
}

/** Workgroup sizes tfjs 4.22's ReduceProgram uses. */
const REDUCE_LANES = [64, 256, 512] as const

/** Tensors per dispatch of the multi-tensor scale (its uniform block holds 8 sizes). */
const MAX_SCALED = 7

/** out_t[i] = x_t[i]·s[0] for `count` tensors (workgroups.y = tensor); outputs result (t = 0), then out1…. */
function scaleManyShader(count: number): string {
  const xs = Array.from({ length: count }, (_, t) => `x${t}`)
  const outs = ['result', ...Array.from({ length: count - 1 }, (_, t) => `out${t + 1}`)]
  const n = count + 1
  const decls = [
    '@group(0) @binding(0) var<storage, read_write> result: array<f32>;',
    '@group(0) @binding(1) var<storage, read> s: array<f32>;',
    ...xs.map((x, t) => `@group(0) @binding(${t + 2}) var<storage, read> ${x}: array<f32>;`),
    ...outs.slice(1).map((o, t) => `@group(0) @binding(${n + t + 1}) var<storage, read_write> ${o}: array<f32>;`),
    `@group(0) @binding(${n + count}) var<uniform> sizes: array<vec4<i32>, 2>;`,
  ]
  const cases = xs.map((x, t) => `if (t == ${t}) { for (var i = start; i < size; i = i + stride) { ${outs[t]}[i] = ${x}[i] * scale; } }`)
  return `${decls.join('\n')}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let t = i32(wg.y);
  let size = sizes[t / 4][t % 4];
  let start = i32(gid.x);
  let stride = i32(groups.x) * ${WORKGROUP};
  let scale = s[0];
  ${cases.join(' else ')}
}`
}

/**
 * tf.dropout: mask = floor(noise + keep) / keep (tfjs's Add, Floor and Div in order), y = x·mask, then `result`'s
 * expression of y. Bit 0 of uniforms.channels: the Multiply had the mask first (its operands are kept in order).
 */
function dropoutShader(inputs: readonly string[], result: string): string {
  return `${PRELUDE}
${bindings(['noise', 'keepAdd', 'keepDiv', 'x', ...inputs], ['mask'])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = i32(gid.y * groups.x * ${WORKGROUP}u + gid.x);
  if (index >= uniforms.size) { return; }
  let m = floor(noise[index] + keepAdd[0]) / keepDiv[0];
  mask[index] = m;
  let y = select(x[index] * m, m * x[index], (uniforms.channels & 1) == 1);
  ${result}
}`
}

/** tf.dropout alone: result = x·mask. */
const DROPOUT = dropoutShader([], 'result[index] = y;')

/** tf.dropout then a residual Add: result = residual + x·mask (bit 1 of channels: the product was the Add's first operand). */
const DROPOUT_ADD = dropoutShader(['residual'], 'result[index] = select(residual[index] + y, y + residual[index], (uniforms.channels & 2) == 2);')

const SHADERS = {
  dropout: DROPOUT,
  dropoutAdd: DROPOUT_ADD,
  reluGrad: elementwise(['dy', 'x'], 'result[index] = dy[index] * stepOf(x[index], uniforms.p0);'),
  reluGradOfSum: elementwise(['dyA', 'dyB', 'x'], 'result[index] = (dyA[index] + dyB[index]) * stepOf(x[index], uniforms.p0);'),
  addRelu: elementwise(['a', 'b'], 'result[index] = reluOf(a[index] + b[index]);'),
  batchNormRelu: elementwise(['x', 'mean', 'rstd', 'gamma', 'beta'], `result[index] = reluOf(${BN_APPLY});`),
  batchNormAddRelu: elementwise(['x', 'mean', 'rstd', 'gamma', 'beta', 'residual'], `result[index] = reluOf(${BN_APPLY} + residual[index]);`),
  batchNormStatsRunning: STATS_RUNNING,
  ...Object.fromEntries(REDUCE_LANES.map((lanes) => [`columnSum${lanes}`, columnSumShader(lanes)])),
  ...Object.fromEntries(Array.from({ length: MAX_SCALED }, (_, i) => [`scaleMany${i + 1}`, scaleManyShader(i + 1)])),
} as const satisfies Record<string, string>

type FusedKind = 'dropout' | 'dropoutAdd' | 'reluGrad' | 'reluGradOfSum' | 'addRelu' | 'batchNormRelu' | 'batchNormAddRelu' | 'batchNormStatsRunning' | `columnSum${number}` | `scaleMany${number}`

const pipelines = new WeakMap<GPUDevice, Map<FusedKind, GPUComputePipeline>>()

function pipelineOf(device: GPUDevice, kind: FusedKind): GPUComputePipeline {
  let byKind = pipelines.get(device)
  if (byKind === undefined) {
    byKind = new Map()
    pipelines.set(device, byKind)
  }
  let pipeline = byKind.get(kind)
  if (pipeline === undefined) {
    const module = device.createShaderModule({ code: (SHADERS as Record<string, string>)[kind] as string, label: `tinylab fused ${kind}` })
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `tinylab fused ${kind}` })
    byKind.set(kind, pipeline)
  }
  return pipeline
}

function uniformBlock(size: number, channels: number, params: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(UNIFORM_BYTES)
  const view = new DataView(bytes.buffer)
  view.setInt32(0, size, true)
  view.setInt32(4, channels, true)
  params.forEach((p, i) => view.setFloat32(8 + 4 * i, p, true))
  return bytes
}

function linearWorkgroups(threads: number): [number, number, number] {
  const count = Math.max(1, Math.ceil(threads / WORKGROUP))
  const x = Math.min(count, 32768)
  return [x, Math.ceil(count / x), 1]
}

/**
 * Which tfjs op a recorded dispatch runs, from the start of its pipeline key (`unary_<UnaryOpType>_…`,
 * `binary_<BinaryOpType>_…` in tfjs-backend-webgpu 4.22).
 */
const isStep = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('unary_37_')
const isRelu = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('unary_23_')
const isAdd = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('binary_0_')
const isMul = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('binary_17_')
const isDiv = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('binary_4_')
const isFloor = (d: RecordedDispatch): boolean => d.shaderKey.startsWith('unary_14_')

export interface FusionCounts {
  reluGrad: number
  reluGradOfSum: number
  relu: number
  runningStats: number
  /** Transpose + row sum pairs turned into column sums. */
  columnSums: number
  /** Scalar multiplications merged into multi-tensor scale dispatches (each counts once). */
  scaled: number
  /** tf.dropout mask computations fused with their multiplication. */
  dropout: number
  /** Of those, the ones fused with the residual Add that reads the product too. */
  dropoutAdd: number
}

/**
 * Rewrites `trace.dispatches` in place with the fused patterns above; returns how many of each it fused. Values that
 * no dispatch reads any more simply drop out of the plan.
 */
export function fuseTrace(device: GPUDevice, trace: Trace): FusionCounts {
  const counts: FusionCounts = { reluGrad: 0, reluGradOfSum: 0, relu: 0, runningStats: 0, columnSums: 0, scaled: 0, dropout: 0, dropoutAdd: 0 }
  const list: (RecordedDispatch | undefined)[] = [...trace.dispatches]
  const pinned = new Set<DataId>([...trace.outputs, ...trace.stateWrites.map((w) => w.value)])
  const float32 = (d: RecordedDispatch): boolean => d.dtypes.every((t) => t === 'float32')
  const bytesOf = (id: DataId): number => trace.bytes.get(id) ?? -1

  // Readers and producers, kept current as dispatches are replaced.
  const readers = new Map<DataId, Set<number>>()
  const producer = new Map<DataId, number>()
  const index = (i: number, d: RecordedDispatch): void => {
    const extra = d.inputs.length - d.extraOutputs
    producer.set(d.output, i)
    d.inputs.forEach((id, k) => {
      if (k >= extra) producer.set(id, i)
      else {
        let set = readers.get(id)
        if (set === undefined) readers.set(id, (set = new Set()))
        set.add(i)
      }
    })
  }
  const unindex = (i: number, d: RecordedDispatch): void => {
    for (const id of d.inputs) readers.get(id)?.delete(i)
  }
  list.forEach((d, i) => d && index(i, d))
  const put = (i: number, d: RecordedDispatch | undefined): void => {
    const old = list[i]
    if (old !== undefined) unindex(i, old)
    list[i] = d
    if (d !== undefined) index(i, d)
  }
  /** A temporary whose only readers are `at`. */
  const onlyReadBy = (id: DataId, ...at: number[]): boolean => {
    if (pinned.has(id) || trace.roles.get(id)?.kind !== 'temp') return false
    const r = readers.get(id) ?? new Set()
    return r.size === at.length && at.every((i) => r.has(i))
  }
  const make = (kind: FusedKind, output: DataId, inputs: DataId[], extraOutputs: number, threads: number, channels: number, params: number[], workgroups?: [number, number, number]): RecordedDispatch => ({
    program: `Fused:${kind}`,
    pipeline: pipelineOf(device, kind),
    workgroups: workgroups ?? linearWorkgroups(threads),
    output,
    inputs,
    extraOutputs,
    sizes: [output, ...inputs].map(bytesOf),
    uniform: uniformBlock(threads, channels, params),
    shaderKey: `tinylabFused_${kind}`,
    programUniforms: params,
    dtypes: [output, ...inputs].map(() => 'float32'),
  })

  // 1. Step(x) → Multiply(dy, step) (either order): reluGrad(dy, x).
  list.forEach((step, i) => {
    if (step === undefined || !isStep(step) || !float32(step)) return
    const muls = [...(readers.get(step.output) ?? [])]
    const j = muls[0]
    if (muls.length !== 1 || j === undefined) return
    const mul = list[j] as RecordedDispatch
    if (!isMul(mul) || !float32(mul) || !onlyReadBy(step.output, j)) return
    const dy = mul.inputs[0] === step.output ? mul.inputs[1] : mul.inputs[0]
    const x = step.inputs[0] as DataId
    const n = bytesOf(mul.output)
    if (dy === undefined || dy === step.output || bytesOf(dy) !== n || bytesOf(x) !== n || bytesOf(step.output) !== n) return
    put(i, undefined)
    put(j, make('reluGrad', mul.output, [dy, x], 0, n / 4, 1, [step.programUniforms[0] ?? 0]))
    counts.reluGrad++
  })

  // 2. Add(dA, dB) read only by a reluGrad as its dy: reluGradOfSum(dA, dB, x).
  list.forEach((grad, j) => {
    if (grad === undefined || grad.shaderKey !== 'tinylabFused_reluGrad') return
    const [dy, x] = grad.inputs as [DataId, DataId]
    const i = producer.get(dy)
    const add = i === undefined ? undefined : list[i]
    if (i === undefined || add === undefined || add.output !== dy || !isAdd(add) || !float32(add) || !onlyReadBy(dy, j)) return
    const [a, b] = add.inputs as [DataId, DataId]
    const n = bytesOf(grad.output)
    if (bytesOf(a) !== n || bytesOf(b) !== n || add.inputs.length !== 2) return
    put(i, undefined)
    put(j, make('reluGradOfSum', grad.output, [a, b, x], 0, n / 4, 1, grad.programUniforms))
    counts.reluGradOfSum++
  })

  // 3. Relu(z): gradients read its output y; z's producer (batch-norm apply, Add, or both) then writes y directly.
  list.forEach((relu, j) => {
    if (relu === undefined || !isRelu(relu) || !float32(relu)) return
    const z = relu.inputs[0] as DataId
    const y = relu.output
    const n = bytesOf(y)
    if (bytesOf(z) !== n) return
    const others = [...(readers.get(z) ?? [])].filter((k) => k !== j)
    const gradOfZ = (k: number): boolean => {
      const d = list[k]
      // z read once, as the mask's input (the last), with Step's alpha 0: step(z) = step(relu(z)).
      return k > j && d !== undefined && d.shaderKey.startsWith('tinylabFused_reluGrad') && d.inputs.indexOf(z) === d.inputs.length - 1 && (d.programUniforms[0] ?? 0) === 0
    }
    if (!others.every(gradOfZ)) return
    const i = producer.get(z)
    const made = i === undefined ? undefined : list[i]
    if (i === undefined || made === undefined || made.output !== z || pinned.has(z) || trace.roles.get(z)?.kind !== 'temp') return
    let fused: RecordedDispatch | undefined
    if (made.program === 'BatchNormApplyProgram' && made.extraOutputs === 0) {
      fused = make('batchNormRelu', y, [...made.inputs], 0, n / 4, made.programUniforms[0] ?? 1, [])
    } else if (isAdd(made) && float32(made) && made.inputs.length === 2) {
      const [a, b] = made.inputs as [DataId, DataId]
      if (bytesOf(a) !== n || bytesOf(b) !== n) return
      const k = producer.get(a)
      const bn = k === undefined ? undefined : list[k]
      if (k !== undefined && bn !== undefined && bn.output === a && bn.program === 'BatchNormApplyProgram' && onlyReadBy(a, i)) {
        put(k, undefined)
        fused = make('batchNormAddRelu', y, [...bn.inputs, b], 0, n / 4, bn.programUniforms[0] ?? 1, [])
      } else {
        fused = make('addRelu', y, [a, b], 0, n / 4, 1, [])
      }
    }
    if (fused === undefined) return
    for (const k of others) {
      const d = list[k] as RecordedDispatch
      put(k, { ...d, inputs: d.inputs.map((id) => (id === z ? y : id)) })
    }
    put(i, undefined)
    put(j, fused)
    counts.relu++
  })

  // 4. BatchNormStats → BatchNormRunningStats(runningMean, runningVar, mean, variance): one dispatch at the stats'.
  list.forEach((stats, i) => {
    if (stats === undefined || stats.program !== 'BatchNormStatsProgram' || stats.extraOutputs !== 2) return
    const [x, variance, rstd] = stats.inputs as [DataId, DataId, DataId]
    const mean = stats.output
    const j = [...(readers.get(variance) ?? [])].find((k) => list[k]?.program === 'BatchNormRunningStatsProgram')
    const running = j === undefined ? undefined : list[j]
    if (j === undefined || running === undefined || running.extraOutputs !== 1) return
    const [runningMean, runningVar, m, v, nextVar] = running.inputs as [DataId, DataId, DataId, DataId, DataId]
    if (m !== mean || v !== variance) return
    // The update's inputs must exist at the stats' place, its outputs be read only after the update's own place.
    if ([runningMean, runningVar].some((id) => (producer.get(id) ?? -1) >= i)) return
    if ([running.output, nextVar].some((id) => [...(readers.get(id) ?? [])].some((k) => k <= j))) return
    const [rows, channels, epsilon] = stats.programUniforms as [number, number, number]
    const [momentum, unbias] = running.programUniforms as [number, number]
    put(j, undefined)
    put(i, make('batchNormStatsRunning', mean, [x, runningMean, runningVar, variance, rstd, running.output, nextVar], 4, rows, channels, [epsilon, momentum, unbias], [Math.ceil(channels / CHANNELS), 1, 1]))
    counts.runningStats++
  })

  // 5. Transpose moving the last axis first → row sums of its output: column sums of the input at the sum's place.
  list.forEach((sum, j) => {
    if (sum === undefined || !sum.shaderKey.startsWith('reduce_sum_') || !float32(sum)) return
    const t = sum.inputs[0] as DataId
    const i = producer.get(t)
    const transpose = i === undefined ? undefined : list[i]
    if (i === undefined || transpose === undefined || transpose.output !== t || !float32(transpose) || !lastAxisFirst(transpose) || !onlyReadBy(t, j)) return
    const x = transpose.inputs[0] as DataId
    const columns = bytesOf(sum.output) / 4
    const rows = sum.programUniforms[0] ?? -1
    if (!Number.isInteger(columns) || rows < 1 || rows * columns * 4 !== bytesOf(x) || bytesOf(t) !== bytesOf(x)) return
    const lanes = Number(/^reduce_sum_(\d+),/.exec(sum.shaderKey)?.[1])
    if (!REDUCE_LANES.some((l) => l === lanes)) return
    put(i, undefined)
    put(j, { ...make(`columnSum${lanes}`, sum.output, [x], 0, columns, rows, [], [Math.min(columns, 32768), Math.ceil(columns / 32768), 1]), program: 'Fused:columnSum' })
    counts.columnSums++
  })

  // 6. tf.dropout: Add(noise, keep) → Floor → Div(·, keep) = mask, then Multiply(x, mask) (either order): one dispatch
  // at the Multiply's place writing x·mask and the mask, which the gradient's Multiply reads later.
  list.forEach((add, i) => {
    if (add === undefined || !isAdd(add) || !float32(add) || add.inputs.length !== 2) return
    const [noise, keepAdd] = add.inputs as [DataId, DataId]
    const n = bytesOf(add.output)
    if (bytesOf(noise) !== n || bytesOf(keepAdd) !== 4) return
    const next = (id: DataId): { at: number; d: RecordedDispatch } | undefined => {
      const r = [...(readers.get(id) ?? [])]
      const at = r[0]
      const d = at === undefined ? undefined : list[at]
      return r.length === 1 && at !== undefined && d !== undefined && onlyReadBy(id, at) ? { at, d } : undefined
    }
    const floor = next(add.output)
    if (floor === undefined || !isFloor(floor.d) || !float32(floor.d)) return
    const div = next(floor.d.output)
    if (div === undefined || !isDiv(div.d) || !float32(div.d) || div.d.inputs[0] !== floor.d.output) return
    const keepDiv = div.d.inputs[1] as DataId
    const mask = div.d.output
    if (bytesOf(keepDiv) !== 4 || bytesOf(mask) !== n || pinned.has(mask) || trace.roles.get(mask)?.kind !== 'temp') return
    const users = [...(readers.get(mask) ?? [])].sort((a, b) => a - b)
    const at = users[0]
    const mul = at === undefined ? undefined : list[at]
    if (at === undefined || mul === undefined || !isMul(mul) || !float32(mul) || mul.inputs.length !== 2 || bytesOf(mul.output) !== n) return
    const maskFirst = mul.inputs[0] === mask
    const x = (maskFirst ? mul.inputs[1] : mul.inputs[0]) as DataId
    if (x === mask || bytesOf(x) !== n) return
    put(i, undefined)
    put(floor.at, undefined)
    put(div.at, undefined)
    // channels carries the operand order of the Multiply: its product is computed as recorded.
    put(at, { ...make('dropout', mul.output, [noise, keepAdd, keepDiv, x, mask], 1, n / 4, maskFirst ? 1 : 0, []), programUniforms: [maskFirst ? 1 : 0] })
    counts.dropout++
  })

  // 6b. A fused dropout whose product only an Add of a same-size tensor reads: one dispatch at the Add's place, if the
  // mask's other readers (the gradient) come after it.
  list.forEach((drop, i) => {
    if (drop === undefined || drop.shaderKey !== 'tinylabFused_dropout') return
    const y = drop.output
    const r = [...(readers.get(y) ?? [])]
    const j = r[0]
    const add = j === undefined ? undefined : list[j]
    if (r.length !== 1 || j === undefined || add === undefined || !isAdd(add) || !float32(add) || add.inputs.length !== 2 || !onlyReadBy(y, j)) return
    const productFirst = add.inputs[0] === y
    const residual = (productFirst ? add.inputs[1] : add.inputs[0]) as DataId
    const n = bytesOf(y)
    const mask = drop.inputs[4] as DataId
    if (residual === y || bytesOf(residual) !== n || bytesOf(add.output) !== n) return
    if ([...(readers.get(mask) ?? [])].some((k) => k <= j)) return
    const [noise, keepAdd, keepDiv, x] = drop.inputs as [DataId, DataId, DataId, DataId]
    const order = (drop.programUniforms[0] ?? 0) | (productFirst ? 2 : 0)
    put(i, undefined)
    put(j, make('dropoutAdd', add.output, [noise, keepAdd, keepDiv, x, residual, mask], 1, n / 4, order, []))
    counts.dropoutAdd++
  })

  // 7. Adjacent Multiply(x, s) with the same one-element s, each x a whole tensor: grouped into multi-tensor scales.
  const limit = Math.min(MAX_SCALED, Math.floor((device.limits.maxStorageBuffersPerShaderStage - 1) / 2))
  const scalarOf = (d: RecordedDispatch | undefined): { x: DataId; s: DataId } | undefined => {
    if (d === undefined || !isMul(d) || !float32(d) || d.inputs.length !== 2) return undefined
    const [a, b] = d.inputs as [DataId, DataId]
    const n = bytesOf(d.output)
    if (bytesOf(b) === 4 && bytesOf(a) === n && n > 4) return { x: a, s: b }
    if (bytesOf(a) === 4 && bytesOf(b) === n && n > 4) return { x: b, s: a }
    return undefined
  }
  const live = list.map((d, i) => [d, i] as const).filter((e): e is readonly [RecordedDispatch, number] => e[0] !== undefined)
  for (let k = 0; k < live.length && limit >= 2; ) {
    const first = scalarOf(live[k]?.[0])
    if (first === undefined) {
      k++
      continue
    }
    const group: { at: number; d: RecordedDispatch; x: DataId }[] = []
    const outputs = new Set<DataId>()
    while (k < live.length && group.length < limit) {
      const [d, at] = live[k] as readonly [RecordedDispatch, number]
      const m = scalarOf(d)
      if (m === undefined || m.s !== first.s || outputs.has(m.x)) break
      group.push({ at, d, x: m.x })
      outputs.add(d.output)
      k++
    }
    if (group.length < 2) continue
    const [head, ...rest] = group as [(typeof group)[0], ...typeof group]
    const uniform = new Uint8Array(32)
    const view = new DataView(uniform.buffer)
    group.forEach((g, t) => view.setInt32(4 * t, bytesOf(g.d.output) / 4, true))
    const largest = Math.max(...group.map((g) => bytesOf(g.d.output) / 4))
    const kind: FusedKind = `scaleMany${group.length}`
    const inputs = [first.s, ...group.map((g) => g.x), ...rest.map((g) => g.d.output)]
    for (const g of rest) put(g.at, undefined)
    put(head.at, {
      program: `Fused:scaleMany`,
      pipeline: pipelineOf(device, kind),
      workgroups: [Math.min(Math.ceil(largest / WORKGROUP), 1024), group.length, 1],
      output: head.d.output,
      inputs,
      extraOutputs: rest.length,
      sizes: [head.d.output, ...inputs].map(bytesOf),
      uniform,
      shaderKey: `tinylabFused_${kind}`,
      programUniforms: [],
      dtypes: [head.d.output, ...inputs].map(() => 'float32'),
    })
    counts.scaled += group.length
  }

  trace.dispatches = list.filter((d): d is RecordedDispatch => d !== undefined)
  return counts
}

/**
 * tfjs's 2-D transpose, or a transpose with permutation [r − 1, 0, 1, …, r − 2]; told from the shader key, as class
 * names are not stable under bundlers (vitest sees `TransposeProgram2`).
 */
function lastAxisFirst(d: RecordedDispatch): boolean {
  if (d.shaderKey.startsWith('transposeShared_')) return true
  const perm = /^transpose_([0-9,]+)_/.exec(d.shaderKey)?.[1]?.split(',').map(Number)
  if (perm === undefined || perm.length < 2) return false
  return perm.every((p, k) => p === (k === 0 ? perm.length - 1 : k - 1))
}
