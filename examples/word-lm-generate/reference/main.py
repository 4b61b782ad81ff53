"""
Reference run for examples/word-lm-generate: pytorch/examples word_language_model main.py + data.py semantics on
Debian's torch 1.13 CPU (the model classes are transcribed in packages/transformer-lm/test/reference_model.py).
Same flags and log lines as main.py, plus --max-batches N (stop each pass after batch N, so the log line at N prints) and --threads.

    OMP_NUM_THREADS=2 /usr/bin/python3 examples/word-lm-generate/reference/main.py \
        --data ../shared/data/wikitext-2 --model Transformer --lr 5 --epochs 1 --max-batches 200
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../packages/transformer-lm/test'))
import reference_model as model_mod  # noqa: E402

parser = argparse.ArgumentParser(description='PyTorch Wikitext-2 RNN/LSTM/GRU/Transformer Language Model (reference)')
parser.add_argument('--data', type=str, default='./data/wikitext-2')
parser.add_argument('--model', type=str, default='LSTM')
parser.add_argument('--emsize', type=int, default=200)
parser.add_argument('--nhid', type=int, default=200)
parser.add_argument('--nlayers', type=int, default=2)
parser.add_argument('--lr', type=float, default=20)
parser.add_argument('--clip', type=float, default=0.25)
parser.add_argument('--epochs', type=int, default=40)
parser.add_argument('--batch_size', '--batch-size', type=int, default=20, metavar='N')
parser.add_argument('--bptt', type=int, default=35)
parser.add_argument('--dropout', type=float, default=0.2)
parser.add_argument('--tied', action='store_true')
parser.add_argument('--seed', type=int, default=1111)
parser.add_argument('--log-interval', type=int, default=200, metavar='N')
parser.add_argument('--save', type=str, default='model-reference.pt')
parser.add_argument('--nhead', type=int, default=2)
parser.add_argument('--dry-run', action='store_true')
parser.add_argument('--max-batches', type=int, default=0)
parser.add_argument('--threads', type=int, default=2)
parser.add_argument('--time-steps', type=int, default=0, help='benchmark: time N training steps and print JSON, then exit')
args = parser.parse_args()

torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)
device = torch.device('cpu')


class Dictionary:
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus:
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, 'train.txt'))
        self.valid = self.tokenize(os.path.join(path, 'valid.txt'))
        self.test = self.tokenize(os.path.join(path, 'test.txt'))

    def tokenize(self, path):
        with open(path, 'r', encoding='utf8') as f:
            for line in f:
                for word in line.split() + ['<eos>']:
                    self.dictionary.add_word(word)
        with open(path, 'r', encoding='utf8') as f:
            idss = []
            for line in f:
                idss.append(torch.tensor([self.dictionary.word2idx[w] for w in line.split() + ['<eos>']], dtype=torch.int64))
        return torch.cat(idss)


corpus = Corpus(args.data)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous().to(device)


eval_batch_size = 10
train_data = batchify(corpus.train, args.batch_size)
val_data = batchify(corpus.valid, eval_batch_size)
test_data = batchify(corpus.test, eval_batch_size)

ntokens = len(corpus.dictionary)
if args.model == 'Transformer':
    model = model_mod.TransformerModel(ntokens, args.emsize, args.nhead, args.nhid, args.nlayers, args.dropout).to(device)
else:
    model = model_mod.RNNModel(args.model, ntokens, args.emsize, args.nhid, args.nlayers, args.dropout, args.tied).to(device)
criterion = nn.NLLLoss()


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def get_batch(source, i):
    seq_len = min(args.bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].view(-1)


def starts(source):
    s = list(range(0, source.size(0) - 1, args.bptt))
    return s[:args.max_batches + 1] if args.max_batches > 0 else s  # batches 0..N: the log line at N prints


def evaluate(data_source):
    model.eval()
    total_loss = 0.
    rows = 0
    if args.model != 'Transformer':
        hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in starts(data_source):
            data, targets = get_batch(data_source, i)
            if args.model == 'Transformer':
                output = model(data).view(-1, ntokens)
            else:
                output, hidden = model(data, hidden)
                hidden = repackage_hidden(hidden)
            total_loss += len(data) * criterion(output, targets).item()
            rows += len(data)
    return total_loss / (rows if args.max_batches > 0 else len(data_source) - 1)


def train_step(data, targets, hidden):
    model.zero_grad()
    if args.model == 'Transformer':
        output = model(data).view(-1, ntokens)
    else:
        hidden = repackage_hidden(hidden)
        output, hidden = model(data, hidden)
    loss = criterion(output, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)
    return loss.item(), hidden


def train():
    model.train()
    total_loss = 0.
    start_time = time.time()
    hidden = model.init_hidden(args.batch_size) if args.model != 'Transformer' else None
    for batch, i in enumerate(starts(train_data)):
        data, targets = get_batch(train_data, i)
        loss, hidden = train_step(data, targets, hidden)
        total_loss += loss
        if batch % args.log_interval == 0 and batch > 0:
            cur_loss = total_loss / args.log_interval
            elapsed = time.time() - start_time
            print('| epoch {:3d} | {:5d}/{:5d} batches | lr {:02.2f} | ms/batch {:5.2f} | '
                  'loss {:5.2f} | ppl {:8.2f}'.format(epoch, batch, len(train_data) // args.bptt, lr,
                                                      elapsed * 1000 / args.log_interval, cur_loss, math.exp(cur_loss)),
                  flush=True)
            total_loss = 0
            start_time = time.time()
        if args.dry_run:
            break


lr = args.lr
if args.time_steps > 0:
    import json
    model.train()
    hidden = model.init_hidden(args.batch_size) if args.model != 'Transformer' else None
    s = starts(train_data)
    train_step(*get_batch(train_data, s[0]), hidden)  # warm-up
    t0 = time.time()
    for k in range(args.time_steps):
        _, hidden = train_step(*get_batch(train_data, s[(k + 1) % len(s)]), hidden)
    print(json.dumps({'ms_per_batch': (time.time() - t0) * 1000 / args.time_steps, 'threads': torch.get_num_threads()}))
    sys.exit(0)

best_val_loss = None
try:
    for epoch in range(1, args.epochs + 1):
        epoch_start_time = time.time()
        train()
        val_loss = evaluate(val_data)
        print('-' * 89)
        print('| end of epoch {:3d} | time: {:5.2f}s | valid loss {:5.2f} | '
              'valid ppl {:8.2f}'.format(epoch, (time.time() - epoch_start_time), val_loss, math.exp(val_loss)))
        print('-' * 89, flush=True)
        if not best_val_loss or val_loss < best_val_loss:
            with open(args.save, 'wb') as f:
                torch.save(model.state_dict(), f)
            best_val_loss = val_loss
        else:
            lr /= 4.0
except KeyboardInterrupt:
    print('-' * 89)
    print('Exiting from training early')

with open(args.save, 'rb') as f:
    model.load_state_dict(torch.load(f))
test_loss = evaluate(test_data)
print('=' * 89)
print('| End of training | test loss {:5.2f} | test ppl {:8.2f}'.format(test_loss, math.exp(test_loss)))
print('=' * 89)
