// Packs `pnpm bench gpu` for a machine with a GPU but no package registry: one ESM bundle of scripts/bench/gpu.ts and
// everything it imports (tfjs-core, the webgpu backend, our packages), likewise `pnpm wordlm` (wordlm.mjs), `pnpm resnet`
// (resnet.mjs + its decode-worker.mjs) and the one-epoch timer (resnet-epoch.mjs), Dawn's Linux binding beside them, a
// Node binary, and the Vulkan loader .debs. Usage: node scripts/bench/gpu-bundle.mjs [OUTDIR=.gpu] [--js-only]   (then scripts/bench/gpu-device.sh)
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
// --js-only: the bundles, Dawn and the carried packages, without Node, the .debs and WikiText-2 (tests on this machine).
const jsOnly = process.argv.includes('--js-only')
const out = path.resolve(root, process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '.gpu')
const require = createRequire(path.join(root, 'package.json'))
const { build } = require(require.resolve('esbuild', { paths: [path.dirname(require.resolve('tsup/package.json'))] }))

mkdirSync(out, { recursive: true })
const entry = path.join(out, 'gpu.ts')
// Entries import by absolute path, so OUTDIR may be anywhere (the bundle test builds into a temporary folder).
const src = (p) => JSON.stringify(path.join(root, p))
writeFileSync(entry, `import { run } from ${src('scripts/bench/gpu')}\nawait run(process.argv.slice(2))\n`)
// wordlm.mjs: `pnpm wordlm` (train / generate), for the 6-epoch reference experiment on the GPU.
const wordlm = path.join(out, 'wordlm.ts')
writeFileSync(wordlm, `import ${src('examples/word-lm-generate/src/main')}\n`)
// resnet.mjs: `pnpm resnet` (train, ...); decode-worker.mjs beside it is the loader's worker thread (worker-pool.ts
// starts `decode-worker` + its own extension next to itself); resnet-epoch.mjs makes the 200-class data and times one
// epoch (scripts/bench/_resnet-epoch.ts).
const resnet = path.join(out, 'resnet.ts')
writeFileSync(resnet, `import ${src('examples/resnet-tiny-imagenet/src/main')}\n`)
const resnetEpoch = path.join(out, 'resnet-epoch.ts')
writeFileSync(resnetEpoch, `import { main } from ${src('scripts/bench/_resnet-epoch')}\nprocess.exit(await main(process.argv.slice(2)))\n`)
const decodeWorker = path.join(root, 'packages/tiny-imagenet-data/src/decode-worker.ts')
// multi-device imports @tinylab/webgpu-backend (an optional peer) through a variable specifier, which Node would look
// up beside the bundle at run time, where it is not: bundle it instead, so `--device webgpu` shares the bundle's
// tfjs-core (the compiled steps import the same module statically).
const webgpuPeer = {
  name: 'bundle-webgpu-peer',
  setup(b) {
    b.onLoad({ filter: /multi-device[\\/]src[\\/]init-backend\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const dynamic = 'return (await import(/* @vite-ignore */ specifier)) as T\n'
      if (source.split(dynamic).length !== 2) throw new Error(`${args.path}: expected one '${dynamic}' (importWebGpuBackend) to bundle`)
      return { contents: source.replace(dynamic, "return (await import('@tinylab/webgpu-backend')) as T\n"), loader: 'ts' }
    })
  },
}
await build({
  plugins: [webgpuPeer],
  entryPoints: { gpu: entry, wordlm, resnet, 'resnet-epoch': resnetEpoch, 'decode-worker': decodeWorker },
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outdir: out,
  outExtension: { '.js': '.mjs' },
  conditions: ['@tinylab/source'],
  // Native or optional: loaded at run time when present (Dawn is carried beside the bundle).
  external: ['webgpu', '@tinylab/native-cpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  // tfjs-core's package.json marks its entry side-effect free, but the entry installs the Tensor op handler.
  ignoreAnnotations: true,
  logLevel: 'warning',
})
for (const f of [entry, wordlm, resnet, resnetEpoch]) rmSync(f)
copyFileSync(path.join(root, 'scripts/bench/gpu_torch.py'), path.join(out, 'gpu_torch.py'))
copyFileSync(path.join(root, 'packages/transformer-lm/test/reference_model.py'), path.join(out, 'reference_model.py'))

// Dawn: only the linux-x64 binary of the webgpu package the workspace resolves.
const webgpu = path.dirname(require.resolve('webgpu/package.json', { paths: [path.join(root, 'packages/multi-device')] }))
const dawnOut = path.join(out, 'node_modules/webgpu')
mkdirSync(path.join(dawnOut, 'dist/linux-x64'), { recursive: true })
for (const f of ['package.json', 'index.js']) copyFileSync(path.join(webgpu, f), path.join(dawnOut, f))
// A dawn.node left decompressed by an earlier test run would travel too (21 MB).
rmSync(path.join(dawnOut, 'dist/linux-x64/dawn.node'), { force: true })
execFileSync('sh', ['-c', `xz -T2 -6 -c '${path.join(webgpu, 'dist/linux-x64/dawn.node')}' > '${path.join(dawnOut, 'dist/linux-x64/dawn.node.xz')}'`])

// Packages our code loads with createRequire at run time (esbuild cannot follow those): carried as they are.
// @jsquash/jpeg: the JPEG codec's .wasm files, which the decoder and the synthetic-data encoder read by path.
for (const [pkg, from] of [['crc-32', 'packages/metrics-logger'], ['@jsquash/jpeg', 'packages/tiny-imagenet-data']]) {
  const dir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [path.join(root, from)] }))
  rmSync(path.join(out, 'node_modules', pkg), { recursive: true, force: true })
  mkdirSync(path.dirname(path.join(out, 'node_modules', pkg)), { recursive: true })
  execFileSync('cp', ['-rL', dir, path.join(out, 'node_modules', pkg)])
}

if (jsOnly) {
  console.log(`wrote ${out} (--js-only): ${readdirSync(out).join(', ')}`)
  process.exit(0)
}

// WikiText-2 for the word LM (the shared data folder does not travel with the working tree).
const wikitext = path.resolve(root, '../shared/data/wikitext-2')
if (existsSync(wikitext)) {
  mkdirSync(path.join(out, 'wikitext-2'), { recursive: true })
  for (const f of ['train.txt', 'valid.txt', 'test.txt']) copyFileSync(path.join(wikitext, f), path.join(out, 'wikitext-2', f))
}

// Node itself, compressed (the device image has none).
if (!existsSync(path.join(out, 'node.xz'))) execFileSync('sh', ['-c', `xz -T2 -6 -c '${process.execPath}' > '${path.join(out, 'node.xz')}'`])

// The Vulkan loader (libvulkan1) for Dawn; the NVIDIA ICD comes with the driver there, but its libGLX_nvidia.so.0
// needs libglvnd's libraries, which the device image lacks (the H200 run of 2026-11-28 needed them).
const gl = path.join(out, 'debs')
mkdirSync(gl, { recursive: true })
for (const pkg of ['libvulkan1', 'libglvnd0', 'libglx0', 'libgl1', 'libegl1', 'libopengl0', 'libgles2']) {
  if (!readdirSync(gl).some((f) => f.startsWith(`${pkg}_`))) execFileSync('apt-get', ['download', pkg], { cwd: gl, stdio: 'inherit' })
}
console.log(`wrote ${out}: ${readdirSync(out).join(', ')}`)
