// parity-train.test.ts's train-mode step on tfjs's pure-JS cpu backend (at 40 px; pnpm test:full).
import { trainParitySuite } from './_train-parity'

await trainParitySuite((device) => device === 'cpu')
