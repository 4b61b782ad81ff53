// Uniform [0, 1) draws on the GPU for values a traced step drew on the CPU (tf.dropout's noise): a counter-based hash
// (PCG's output permutation applied in turn to the seed, the replay count, the stream and the element index), so
// every replay, every drawn tensor and every element gets its own value with no state kept between steps.
const WORKGROUP = 256

const HASH = `
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}`

/**
 * `count` drawn tensors in one dispatch (workgroup row y draws tensor y, striding over its elements): each element's
 * value depends only on the seed, the replay count, the tensor's stream and the element's index.
 */
function drawShader(count: number): string {
  const outputs = Array.from({ length: count }, (_, t) => `@group(0) @binding(${t + 2}) var<storage, read_write> out${t}: array<f32>;`)
  const writes = Array.from({ length: count }, (_, t) => `if (t == ${t}u) { out${t}[i] = value; }`)
  return `
struct Draw { size: u32, stream: u32, seed: u32, pad: u32 }
struct Counter { replay: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> draws: array<Draw, ${count}>;
@group(0) @binding(1) var<uniform> counter: Counter;
${outputs.join('\n')}
${HASH}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let t = wg.y;
  let draw = draws[t];
  let key = pcg(draw.stream ^ pcg(counter.replay ^ pcg(draw.seed)));
  for (var i = gid.x; i < draw.size; i = i + groups.x * ${WORKGROUP}u) {
    // The top 24 bits: exactly representable in float32, so the value is < 1.
    let value = f32(pcg(i ^ key) >> 8u) * (1.0 / 16777216.0);
    ${writes.join(' else ')}
  }
}`
}

const pipelines = new WeakMap<GPUDevice, Map<number, GPUComputePipeline>>()

/** The pipeline drawing `count` tensors in one dispatch. */
export function uniformDrawPipeline(device: GPUDevice, count: number): GPUComputePipeline {
  let byCount = pipelines.get(device)
  if (byCount === undefined) pipelines.set(device, (byCount = new Map()))
  let pipeline = byCount.get(count)
  if (pipeline === undefined) {
    const module = device.createShaderModule({ code: drawShader(count), label: `tinylab uniform draw x${count}` })
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `tinylab uniform draw x${count}` })
    byCount.set(count, pipeline)
  }
  return pipeline
}

/** How many tensors one draw dispatch may write: the storage buffers a shader stage may bind. */
export function drawsPerDispatch(device: GPUDevice): number {
  return Math.max(1, Math.min(16, device.limits.maxStorageBuffersPerShaderStage))
}

/** The uniform blocks of a group of drawn tensors: element count, stream (which upload it replaces) and seed each. */
export function drawUniforms(draws: readonly { size: number; stream: number }[], seed: number): Uint32Array {
  return new Uint32Array(draws.flatMap((d) => [d.size, d.stream, seed >>> 0, 0]))
}

/** Workgroups of one draw dispatch: enough columns for the largest tensor (each strides beyond 4096), a row per tensor. */
export function drawWorkgroups(draws: readonly { size: number }[]): [number, number, number] {
  const largest = Math.max(...draws.map((d) => d.size))
  return [Math.min(Math.max(1, Math.ceil(largest / WORKGROUP)), 4096), draws.length, 1]
}
