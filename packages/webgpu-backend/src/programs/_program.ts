/**
 * What TinyLab's WGSL programs share. They are ordinary tfjs-backend-webgpu programs (`WebGPUProgram`, run with
 * `backend.runWebGPUProgram`), so everything that records or replays tfjs dispatches sees them like tfjs's own.
 *
 * Several outputs from one dispatch: a tfjs program writes one output (`result`, binding 0) and reads its inputs
 * (bindings 1…n, declared `read`). A program that writes more declares each extra output twice at the binding of an
 * input slot: tfjs's header declares `<name>Slot` read-only there, and the program's own code declares `<name>`
 * read_write at the same binding and uses only that one (WGSL allows two declarations of one binding when an entry
 * point uses one of them). The kernel passes freshly made tensors in those slots, after the real inputs, and marks
 * the program with `extraOutputs` (how many trailing inputs it writes) so a recorder can tell them from inputs.
 */
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu'
import type { TensorInfo } from '@tensorflow/tfjs-core'
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu'

/** A TinyLab program: tfjs's WebGPUProgram plus the number of trailing input slots that are really outputs. */
export interface TinylabProgram extends WebGPUProgram {
  /** Names of the extra outputs (declared read_write by the program's code), in slot order after the inputs. */
  readonly extraOutputNames: readonly string[]
}

/** Input slot names for a program with these inputs and extra outputs (see the file comment). */
export function slotNames(inputs: readonly string[], extraOutputs: readonly string[]): string[] {
  return [...inputs, ...extraOutputs.map((name) => `${name}Slot`)]
}

/** WGSL declarations of the extra outputs, at the bindings after the inputs (binding 0 is `result`). */
export function extraOutputDeclarations(inputCount: number, extraOutputs: readonly string[]): string {
  return extraOutputs
    .map((name, i) => `@group(0) @binding(${1 + inputCount + i}) var<storage, read_write> ${name}: array<f32>;`)
    .join('\n')
}

export type UniformData = { type: 'int32' | 'float32' | 'uint32'; data: number[] }[]

/**
 * Runs `program` on `inputs`; returns its `result` followed by one new float32 tensor per extra output (shapes from
 * `extraShapes`). All outputs are new tensors owned by the caller.
 */
export function runProgram(
  backend: WebGPUBackend,
  program: TinylabProgram,
  inputs: TensorInfo[],
  extraShapes: number[][],
  uniforms: UniformData,
): TensorInfo[] {
  if (extraShapes.length !== program.extraOutputNames.length) {
    throw new Error(`${program.shaderKey}: ${extraShapes.length} extra output shapes for ${program.extraOutputNames.length} extra outputs`)
  }
  const extras = extraShapes.map((shape) => backend.makeTensorInfo(shape, 'float32'))
  const result = backend.runWebGPUProgram(program, [...inputs, ...extras], 'float32', uniforms)
  return [result, ...extras]
}

/** A dispatch of `count` workgroups along x (wrapping into y above the per-dimension limit of 65,535). */
export function linearDispatch(count: number): [number, number, number] {
  const x = Math.min(Math.max(count, 1), 32768)
  return [x, Math.ceil(Math.max(count, 1) / x), 1]
}

/** WGSL: the linear workgroup index of a linearDispatch. */
export const LINEAR_WORKGROUP = 'i32(workgroupId.y * numWorkgroups.x + workgroupId.x)'

/**
 * WGSL: a tree sum over the `lanes` values of `buf` at `base + lane·stride` (lanes a power of 2), leaving the total at
 * `base`. Every invocation of the workgroup must run it (it has barriers); `lane` is this invocation's lane.
 */
export function treeSum(buf: string, lanes: number, lane: string, base: string, stride: number): string {
  return `
    workgroupBarrier();
    for (var half = ${lanes / 2}u; half > 0u; half = half >> 1u) {
      if (${lane} < half) {
        ${buf}[${base} + ${lane} * ${stride}u] = ${buf}[${base} + ${lane} * ${stride}u] + ${buf}[${base} + (${lane} + half) * ${stride}u];
      }
      workgroupBarrier();
    }`
}
