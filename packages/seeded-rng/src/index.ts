export { SeededRng } from './seeded-rng'
