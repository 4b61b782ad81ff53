// Child process for tensorboard.test.ts: logs without calling close(), then exits normally or waits for a signal.
import { SummaryWriter } from '../src/summary-writer'

const [runDir, mode] = process.argv.slice(2)
const writer = new SummaryWriter({ runDir })
if (mode === 'signal') writer.handleSignals()
for (let epoch = 0; epoch < 3; epoch++) writer.addScalar('scalar/train_loss', 5 - epoch, epoch)
if (mode === 'signal') {
  process.stdout.write('ready\n')
  setInterval(() => undefined, 1000)
}
