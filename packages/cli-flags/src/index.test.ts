import { describe, expect, it } from 'vitest'
import { flagTable, helpText, longName, parseFlags, parseValue, UsageError } from './index'

const FLAGS = flagTable({
  data: { names: ['--data'], label: 'DIR, --data DIR', type: 'string', help: 'data folder' },
  arch: { names: ['-a', '--arch'], type: 'string', choices: ['resnet18', 'resnet34'], default: 'resnet18', help: 'model architecture' },
  batch_size: { names: ['-b', '--batch-size'], type: 'positive int', metavar: 'N', default: 256, help: 'mini-batch size' },
  lr: { names: ['--lr'], hidden: ['--learning-rate'], type: 'float', above: 0, default: 0.1, help: 'learning rate' },
  weight_decay: { names: ['--wd', '--weight-decay'], type: 'non-negative float', default: 1e-4, defaultHelp: '1e-4', help: 'weight decay' },
  log_interval: { names: ['--log-interval'], type: 'int', min: 1, default: 200, help: 'report interval' },
  tied: { names: ['--tied'], type: 'bool', help: 'tie the weights' },
  max_steps: { names: ['--max-steps'], type: 'positive int', metavar: 'N', defaultHelp: 'all', help: 'at most N steps' },
})

function assertPt(path: string): void {
  if (!path.endsWith('.pt')) throw new Error(`${path}: cannot tell the format from the extension`)
}

describe('parseFlags', () => {
  it('gives the defaults, typed values, the keys the command line set and the positionals', () => {
    const none = parseFlags([], FLAGS)
    expect(none.values).toEqual({ data: undefined, arch: 'resnet18', batch_size: 256, lr: 0.1, weight_decay: 1e-4, log_interval: 200, tied: false, max_steps: undefined })
    const r = parseFlags(['DIR', '-b', '8', '--learning-rate=0.5', '--tied', '--wd', '0', '-a', 'resnet34', '-b', '16'], FLAGS, { positionals: true })
    expect(r.values).toMatchObject({ batch_size: 16, lr: 0.5, tied: true, weight_decay: 0, arch: 'resnet34' })
    expect(r.positionals).toEqual(['DIR'])
    expect([...r.given].sort()).toEqual(['arch', 'batch_size', 'lr', 'tied', 'weight_decay'])
    expect(parseFlags([], FLAGS, { defaults: { batch_size: 32 } }).values.batch_size).toBe(32)
  })

  it.each([
    [['-b', '0'], "argument -b/--batch-size: invalid positive int value: '0'"],
    [['--lr', 'fast'], "argument --lr: invalid float value: 'fast'"],
    [['--lr', '0'], 'argument --lr: invalid value: 0 (must be > 0)'],
    [['--log-interval', '0'], 'argument --log-interval: invalid value: 0 (must be >= 1)'],
    [['--log-interval', '1.5'], "argument --log-interval: invalid int value: '1.5'"],
    [['--wd', '-1'], "argument --wd/--weight-decay: invalid non-negative float value: '-1'"],
    [['-a', 'vgg'], "argument -a/--arch: invalid choice: 'vgg' (choose from 'resnet18', 'resnet34')"],
    [['--tied=1'], "argument --tied: ignored explicit argument '1'"],
    [['--lr'], 'argument --lr: expected one argument'],
    [['--cuda'], 'unrecognized argument: --cuda (see --help for the flags)'],
    [['DIR'], 'unrecognized argument: DIR'],
  ])('%j -> %s', (argv, message) => {
    expect(() => parseFlags(argv, FLAGS)).toThrow(UsageError)
    expect(() => parseFlags(argv, FLAGS)).toThrow(message)
  })

  it("a string flag's check refuses what it throws on, as argparse's type= function, with the flag named", () => {
    const table = flagTable({
      save: { names: ['--save'], type: 'string', default: 'model.pt', help: 'checkpoint path', check: assertPt },
    })
    expect(parseFlags(['--save', 'best.pt'], table).values.save).toBe('best.pt')
    expect(() => parseFlags(['--save=best'], table)).toThrow(new UsageError('argument --save: best: cannot tell the format from the extension'))
  })

  it('parseValue and longName', () => {
    expect(parseValue('--checkpoint-epochs', 'positive int', '5')).toBe(5)
    expect(() => parseValue('--checkpoint-epochs', 'positive int', 'x')).toThrow("argument --checkpoint-epochs: invalid positive int value: 'x'")
    expect(longName(FLAGS, 'batch_size')).toBe('--batch-size')
  })
})

describe('helpText', () => {
  it("is argparse's layout: names and metavar, help, the default", () => {
    expect(helpText('prog [flags]', 'Does things.', FLAGS)).toBe(
      [
        'usage: prog [flags]',
        '',
        'Does things.',
        '',
        'options:',
        '  DIR, --data DIR                    data folder',
        '  -a, --arch {resnet18,resnet34}     model architecture (default: resnet18)',
        '  -b, --batch-size N                 mini-batch size (default: 256)',
        '  --lr LR                            learning rate (default: 0.1)',
        '  --wd, --weight-decay WEIGHT_DECAY  weight decay (default: 1e-4)',
        '  --log-interval LOG_INTERVAL        report interval (default: 200)',
        '  --tied                             tie the weights',
        '  --max-steps N                      at most N steps (default: all)',
      ].join('\n'),
    )
  })
})
