import { defineConfig } from 'tsup'
import { base } from '../../tsup.base'

// decode-worker is started by file name from worker-pool.ts, so it must be an entry of its own.
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/cli.ts', 'src/decode-worker.ts'] })
