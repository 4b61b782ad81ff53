/**
 * `pnpm bench checkpoint [--repeats N]`
 *
 * Save/load time of a ResNet-18 (200 classes) training checkpoint: the state dict (11.3 M floats) plus SGD momentum
 * buffers, as checkpoint-io's safetensors and .pth (atomic: temp file, fsync, rename, fsync dir) and as PyTorch's
 * torch.save/torch.load of the same dict on the same disk. Medians of N repeats; the CPU may be shared with others.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
// The root package does not depend on the workspace packages: import their sources by path.
import { HostTensor, loadCheckpoint, saveCheckpoint } from '@tinylab/checkpoint-io'
import { runPython } from '@tinylab/test-utils/torch'

function arg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name)
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

const TORCH = `
import json, sys, time, torch, torchvision, os
path, repeats = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
model = torchvision.models.resnet18(num_classes=200)
opt = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9)
model(torch.randn(2, 3, 64, 64)).sum().backward(); opt.step()
state = {'epoch': 1, 'arch': 'resnet18', 'state_dict': model.state_dict(), 'best_acc1': 1.0, 'optimizer': opt.state_dict()}
saves, loads = [], []
for _ in range(repeats):
    t = time.perf_counter(); torch.save(state, path); f = open(path, 'rb'); os.fsync(f.fileno()); f.close(); saves.append(time.perf_counter() - t)
    t = time.perf_counter(); torch.load(path); loads.append(time.perf_counter() - t)
saves.sort(); loads.sort()
print(json.dumps({'save_ms': saves[len(saves)//2] * 1000, 'load_ms': loads[len(loads)//2] * 1000, 'bytes': os.path.getsize(path)}))
`

export async function run(args: string[]): Promise<void> {
  const repeats = Number(arg(args, '--repeats', '5'))
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-ckpt-'))
  try {
    // ResNet-18/200 shapes are irrelevant to I/O speed; its element count is what matters: 11,279,112 params + 9,600 BN stats.
    const params = 11_279_112
    const stateDict: Record<string, HostTensor> = { weights: new HostTensor('float32', [params], new Float32Array(params).map((_, i) => Math.sin(i))) }
    const optimizer = { state: { 0: { momentum_buffer: new HostTensor('float32', [params], new Float32Array(params).fill(0.5)) } }, param_groups: [{ lr: 0.1, params: [0] }] }
    const state = { epoch: 1, arch: 'resnet18', state_dict: stateDict, best_acc1: 1, optimizer }
    const result: Record<string, unknown> = {}
    for (const ext of ['safetensors', 'pth.tar']) {
      const file = path.join(dir, `checkpoint.${ext}`)
      const saves: number[] = []
      const loads: number[] = []
      for (let r = 0; r < repeats; r++) {
        let t = performance.now()
        await saveCheckpoint(file, state)
        saves.push(performance.now() - t)
        t = performance.now()
        await loadCheckpoint(file)
        loads.push(performance.now() - t)
      }
      result[ext] = { save_ms: Math.round(median(saves)), load_ms: Math.round(median(loads)), bytes: statSync(file).size }
    }
    const torch = JSON.parse(await runPython(TORCH, [path.join(dir, 'torch.pth.tar'), String(repeats)])) as { save_ms: number; load_ms: number; bytes: number }
    result.torch = { save_ms: Math.round(torch.save_ms), load_ms: Math.round(torch.load_ms), bytes: torch.bytes }
    console.log(JSON.stringify({ bench: 'checkpoint', repeats, ...result }))
    const ours = result['pth.tar'] as { save_ms: number; load_ms: number }
    console.log(`ratio ours(.pth)/torch: save ${(ours.save_ms / torch.save_ms).toFixed(2)}x, load ${(ours.load_ms / torch.load_ms).toFixed(2)}x`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
