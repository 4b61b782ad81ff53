// Uniform [0, 1) draws on the GPU for values a traced step drew on the CPU (tf.dropout's noise): a counter-based hash
// (PCG's output permutation applied in turn to the seed, the replay count, the stream and the element index), so
// every replay, every drawn tensor and every element gets its own value with no state kept between steps.
const WORKGROUP = 256

const SHADER = `
struct Draw { size: u32, stream: u32, seed: u32, pad: u32 }
struct Counter { replay: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<storage, read_write> result: array<f32>;
@group(0) @binding(1) var<uniform> draw: Draw;
@group(0) @binding(2) var<uniform> counter: Counter;
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let index = gid.y * groups.x * ${WORKGROUP}u + gid.x;
  if (index >= draw.size) { return; }
  let bits = pcg(index ^ pcg(draw.stream ^ pcg(counter.replay ^ pcg(draw.seed))));
  // The top 24 bits: exactly representable in float32, so the value is < 1.
  result[index] = f32(bits >> 8u) * (1.0 / 16777216.0);
}`

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>()

export function uniformDrawPipeline(device: GPUDevice): GPUComputePipeline {
  let pipeline = pipelines.get(device)
  if (pipeline === undefined) {
    const module = device.createShaderModule({ code: SHADER, label: 'tinylab uniform draw' })
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: 'tinylab uniform draw' })
    pipelines.set(device, pipeline)
  }
  return pipeline
}

/** The uniform block of one drawn tensor: its element count, its stream (which upload it replaces) and the seed. */
export function drawUniform(size: number, stream: number, seed: number): Uint32Array {
  return new Uint32Array([size, stream, seed >>> 0, 0])
}

export function drawWorkgroups(size: number): [number, number, number] {
  const count = Math.max(1, Math.ceil(size / WORKGROUP))
  const x = Math.min(count, 32768)
  return [x, Math.ceil(count / x), 1]
}
