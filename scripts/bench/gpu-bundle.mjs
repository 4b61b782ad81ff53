// Packs `pnpm bench gpu` for a machine with a GPU but no package registry: one ESM bundle of scripts/bench/gpu.ts and
// everything it imports (tfjs-core, the webgpu backend, our packages), Dawn's Linux binding beside it, a Node binary,
// and the Vulkan loader .debs. Usage: node scripts/bench/gpu-bundle.mjs [OUTDIR=.gpu]   (then scripts/bench/gpu-device.sh)
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const out = path.resolve(root, process.argv[2] ?? '.gpu')
const require = createRequire(path.join(root, 'package.json'))
const { build } = require(require.resolve('esbuild', { paths: [path.dirname(require.resolve('tsup/package.json'))] }))

mkdirSync(out, { recursive: true })
const entry = path.join(out, 'gpu.ts')
writeFileSync(entry, `import { run } from '../scripts/bench/gpu'\nawait run(process.argv.slice(2))\n`)
// wordlm.mjs: `pnpm wordlm` (train / generate), for the 6-epoch reference experiment on the GPU.
const wordlm = path.join(out, 'wordlm.ts')
writeFileSync(wordlm, `import '../examples/word-lm-generate/src/main'\n`)
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
  entryPoints: [entry, wordlm],
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
rmSync(entry)
rmSync(wordlm)
copyFileSync(path.join(root, 'scripts/bench/gpu_torch.py'), path.join(out, 'gpu_torch.py'))
copyFileSync(path.join(root, 'packages/transformer-lm/test/reference_model.py'), path.join(out, 'reference_model.py'))

// Dawn: only the linux-x64 binary of the webgpu package the workspace resolves.
const webgpu = path.dirname(require.resolve('webgpu/package.json', { paths: [path.join(root, 'packages/multi-device')] }))
const dawnOut = path.join(out, 'node_modules/webgpu')
mkdirSync(path.join(dawnOut, 'dist/linux-x64'), { recursive: true })
for (const f of ['package.json', 'index.js']) copyFileSync(path.join(webgpu, f), path.join(dawnOut, f))
execFileSync('sh', ['-c', `xz -T2 -6 -c '${path.join(webgpu, 'dist/linux-x64/dawn.node')}' > '${path.join(dawnOut, 'dist/linux-x64/dawn.node.xz')}'`])

// Packages our code loads with createRequire at run time (esbuild cannot follow those): carried as they are.
for (const [pkg, from] of [['crc-32', 'packages/metrics-logger']]) {
  const dir = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [path.join(root, from)] }))
  execFileSync('cp', ['-r', dir, path.join(out, 'node_modules', pkg)])
}

// WikiText-2 for the word LM (the shared data folder does not travel with the working tree).
const wikitext = path.resolve(root, '../shared/data/wikitext-2')
if (existsSync(wikitext)) {
  mkdirSync(path.join(out, 'wikitext-2'), { recursive: true })
  for (const f of ['train.txt', 'valid.txt', 'test.txt']) copyFileSync(path.join(wikitext, f), path.join(out, 'wikitext-2', f))
}

// Node itself, compressed (the device image has none).
if (!existsSync(path.join(out, 'node.xz'))) execFileSync('sh', ['-c', `xz -T2 -6 -c '${process.execPath}' > '${path.join(out, 'node.xz')}'`])

// The Vulkan loader (libvulkan1) for Dawn; the NVIDIA ICD comes with the driver there.
const gl = path.join(out, 'debs')
mkdirSync(gl, { recursive: true })
if (!readdirSync(gl).some((f) => f.endsWith('.deb'))) execFileSync('apt-get', ['download', 'libvulkan1'], { cwd: gl, stdio: 'inherit' })
console.log(`wrote ${out}: ${readdirSync(out).join(', ')}`)
