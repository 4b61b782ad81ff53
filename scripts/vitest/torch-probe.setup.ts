// In each test worker, before the test file: the run's PyTorch probe (torch-probe.global-setup.ts) for hasTorch().
import { inject } from 'vitest'

process.env['TINYLAB_HAS_TORCH'] = inject('tinylabHasTorch') ? '1' : '0'
