// Child process for kill.slow.test.ts: saves checkpoints in a tight loop until it is SIGKILLed.
// Each state's content is a pure function of its step, so the parent can tell a complete save from a torn one.
import { CheckpointManager } from '../src/checkpoint-manager'
import { loadCheckpoint } from '../src/checkpoint'
import { HostTensor } from '../src/host-tensor'

export const ELEMENTS = 1 << 20 // 4 MiB per tensor, two tensors per checkpoint

export function stateFor(step: number): { epoch: number; arch: string; best_acc1: number; state_dict: Record<string, HostTensor>; step: number } {
  const a = new Float32Array(ELEMENTS)
  const b = new Float32Array(ELEMENTS)
  for (let i = 0; i < ELEMENTS; i++) {
    a[i] = step + (i % 1009) / 1009
    b[i] = -step - (i % 997)
  }
  return { epoch: step, arch: 'kill-test', best_acc1: step / 1000, step, state_dict: { 'w.a': new HostTensor('float32', [ELEMENTS], a), 'w.b': new HostTensor('float32', [1024, ELEMENTS / 1024], b) } }
}

async function main(): Promise<void> {
  const dir = process.argv[2] as string
  const format = process.argv[3] === 'pth' ? 'pth' : 'safetensors'
  const manager = await CheckpointManager.open({ dir, format, keepEpochs: [] })
  const latest = manager.latest()
  let step = latest ? Number((await loadCheckpoint(latest)).step) : 0
  for (;;) {
    step++
    await manager.save(stateFor(step), { isBest: step % 3 === 0 })
    process.stdout.write(`saved ${step}\n`)
  }
}

if (process.argv[1]?.endsWith('_kill-writer.ts')) void main()
