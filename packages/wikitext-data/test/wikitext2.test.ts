import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SHARED_DATA, sharedDataSkipReason } from '@tinylab/test-utils/paths'
import { requireTorchOrSkipReason, runPython } from '@tinylab/test-utils/torch'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Corpus, batchStarts, batchify, numBatches } from '../src/index'

const DIR = path.join(SHARED_DATA, 'wikitext-2')

// Counts published in ../shared/data/PROVENANCE.txt and printed by pytorch/examples main.py ("2983 batches").
describe.skipIf(!!sharedDataSkipReason('wikitext-2'))('WikiText-2 (real files)', () => {
  let corpus: Corpus
  beforeAll(() => {
    corpus = new Corpus(DIR)
  })

  it('has the published vocabulary and token counts', () => {
    expect(corpus.dictionary.length).toBe(33278)
    expect(corpus.dictionary.idx2word.slice(0, 3)).toEqual(['<eos>', '=', 'Valkyria'])
    expect(corpus.train.length).toBe(2088628)
    expect(corpus.valid.length).toBe(217646)
    expect(corpus.test.length).toBe(245569)
  })

  it('gives 2983 training batches at batch 20 / bptt 35', () => {
    expect(numBatches(batchify(corpus.train, 20), 35)).toBe(2983)
  })

  const reason = requireTorchOrSkipReason()
  describe.skipIf(!!reason)('against data.py run by PyTorch', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'wikitext-ref-'))
    afterAll(() => rmSync(tmp, { recursive: true, force: true }))

    it('batchify(train, 20), batchify(valid, 10), batchify(test, 10) equal torch, element for element', async () => {
      // data.py's Dictionary/Corpus and main.py's batchify, inline (pytorch/examples is not installed here).
      const script = `
import json, os, sys, torch
class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []
    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]
class Corpus(object):
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, 'train.txt'))
        self.valid = self.tokenize(os.path.join(path, 'valid.txt'))
        self.test = self.tokenize(os.path.join(path, 'test.txt'))
    def tokenize(self, path):
        with open(path, 'r', encoding="utf8") as f:
            for line in f:
                for word in line.split() + ['<eos>']:
                    self.dictionary.add_word(word)
        with open(path, 'r', encoding="utf8") as f:
            idss = []
            for line in f:
                idss.append(torch.tensor([self.dictionary.word2idx[w] for w in line.split() + ['<eos>']]).type(torch.int64))
        return torch.cat(idss)
def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()
corpus = Corpus(sys.argv[1])
out = {}
for name, data, bsz in [('train', corpus.train, 20), ('valid', corpus.valid, 10), ('test', corpus.test, 10)]:
    b = batchify(data, bsz)
    b.to(torch.int32).numpy().tofile(os.path.join(sys.argv[2], name + '.bin'))
    out[name] = list(b.shape)
out['starts'] = len(range(0, out['train'][0] - 1, 35))
with open(os.path.join(sys.argv[2], 'vocab.txt'), 'w', encoding='utf8') as f:
    f.write('\\n'.join(corpus.dictionary.idx2word))
print(json.dumps(out))
`
      const ref = JSON.parse(await runPython(script, [DIR, tmp])) as Record<string, number[] | number>
      for (const [name, bsz] of [['train', 20], ['valid', 10], ['test', 10]] as const) {
        const ours = batchify(corpus[name], bsz)
        expect(ours.shape).toEqual(ref[name])
        const theirs = new Int32Array(new Uint8Array(readFileSync(path.join(tmp, `${name}.bin`))).buffer)
        expect(theirs.length).toBe(ours.data.length)
        expect(Buffer.from(ours.data.buffer).equals(Buffer.from(theirs.buffer))).toBe(true)
      }
      expect(readFileSync(path.join(tmp, 'vocab.txt'), 'utf8').split('\n')).toEqual(corpus.dictionary.idx2word)
      expect(batchStarts(batchify(corpus.train, 20), 35).length).toBe(ref.starts)
    })
  })
})
