"""PyTorch reference for `pnpm resnet train` on a class subset of Tiny-ImageNet: the same recipe as the TinyLab run.

pytorch/examples imagenet/main.py's train/validate loop (same progress lines), with the reference report's changes
(val labels from val_annotations.txt; per-epoch train/val loss and accuracy), restricted to the first K wnids of
wnids.txt (labels = their sorted order, as ImageFolder and @tinylab/tiny-imagenet-data assign them).

    /usr/bin/python3 examples/resnet-tiny-imagenet/reference/train_subset.py ../shared/data/tiny-imagenet-200-subset \
        --num-classes-subset 10 --epochs 6 -b 64 --lr 0.1 --lr-schedule cosine --augment crop --stem imagenet \
        --out examples/resnet-tiny-imagenet/results/pytorch.jsonl

Writes one JSON line per epoch: epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds.
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn
import torchvision
import torchvision.transforms as T
from PIL import Image

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


class Listing(torch.utils.data.Dataset):
    def __init__(self, items, transform):
        self.items = items
        self.transform = transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        return self.transform(Image.open(path).convert('RGB')), label


def listings(root, k):
    wnids = [w.strip() for w in open(os.path.join(root, 'wnids.txt')) if w.strip()][:k]
    index = {w: i for i, w in enumerate(sorted(wnids))}
    train = []
    for w in sorted(wnids):
        d = os.path.join(root, 'train', w, 'images')
        train += [(os.path.join(d, f), index[w]) for f in sorted(os.listdir(d))]
    val = []
    for line in open(os.path.join(root, 'val', 'val_annotations.txt')):
        parts = line.split('\t')
        if len(parts) > 1 and parts[1] in index:
            val.append((os.path.join(root, 'val', 'images', parts[0]), index[parts[1]]))
    return train, val


class AverageMeter:
    def __init__(self, name, fmt=':f'):
        self.name, self.fmt = name, fmt
        self.val = self.avg = self.sum = self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        return ('{name} {val' + self.fmt + '} ({avg' + self.fmt + '})').format(**self.__dict__)


def accuracy(output, target, topk):
    with torch.no_grad():
        maxk = max(topk)
        _, pred = output.topk(maxk, 1, True, True)
        correct = pred.t().eq(target.view(1, -1).expand_as(pred.t()))
        return [correct[:k].reshape(-1).float().sum(0).item() * 100.0 / target.size(0) for k in topk]


def run_epoch(loader, model, criterion, optimizer, epoch, print_freq, train):
    losses, top1, top5 = AverageMeter('Loss', ':.4e'), AverageMeter('Acc@1', ':6.2f'), AverageMeter('Acc@5', ':6.2f')
    model.train(train)
    prefix = 'Epoch: [{}]'.format(epoch) if train else 'Test: '
    digits = len(str(len(loader)))
    with torch.set_grad_enabled(train):
        for i, (images, target) in enumerate(loader):
            output = model(images)
            loss = criterion(output, target)
            acc1, acc5 = accuracy(output, target, (1, 5))
            losses.update(loss.item(), images.size(0))
            top1.update(acc1, images.size(0))
            top5.update(acc5, images.size(0))
            if train:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            if i % print_freq == 0:
                print('{}[{:{d}d}/{}]\t{}\t{}\t{}'.format(prefix, i, len(loader), losses, top1, top5, d=digits), flush=True)
    if not train:
        print(' *   Acc@1 {:.3f} Acc@5 {:.3f}'.format(top1.avg, top5.avg), flush=True)
    return losses.avg, top1.avg


def main():
    p = argparse.ArgumentParser()
    p.add_argument('data')
    p.add_argument('--num-classes-subset', type=int, default=10)
    p.add_argument('--epochs', type=int, default=6)
    p.add_argument('-b', '--batch-size', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--momentum', type=float, default=0.9)
    p.add_argument('--wd', type=float, default=1e-4)
    p.add_argument('--lr-schedule', choices=['step', 'cosine'], default='cosine')
    p.add_argument('--augment', choices=['none', 'crop', 'rrc'], default='crop')
    p.add_argument('--stem', choices=['imagenet', 'cifar'], default='imagenet')
    p.add_argument('-j', '--workers', type=int, default=2)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('-p', '--print-freq', type=int, default=10)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--out', default=None)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    aug = {'none': [], 'crop': [T.RandomCrop(64, padding=4), T.RandomHorizontalFlip()],
           'rrc': [T.RandomResizedCrop(64), T.RandomHorizontalFlip()]}[args.augment]
    norm = [T.ToTensor(), T.Normalize(MEAN, STD)]
    train_items, val_items = listings(args.data, args.num_classes_subset)
    train_loader = torch.utils.data.DataLoader(Listing(train_items, T.Compose(aug + norm)), batch_size=args.batch_size,
                                               shuffle=True, num_workers=args.workers)
    val_loader = torch.utils.data.DataLoader(Listing(val_items, T.Compose(norm)), batch_size=args.batch_size,
                                             shuffle=False, num_workers=args.workers)

    model = torchvision.models.resnet18(num_classes=args.num_classes_subset)
    if args.stem == 'cifar':
        model.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        model.maxpool = nn.Identity()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), args.lr, momentum=args.momentum, weight_decay=args.wd)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) if args.lr_schedule == 'cosine'
                 else torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1))
    out = open(args.out, 'w') if args.out else None
    best = 0.0
    for epoch in range(args.epochs):
        t0 = time.time()
        lr = optimizer.param_groups[0]['lr']
        train_loss, train_acc = run_epoch(train_loader, model, criterion, optimizer, epoch, args.print_freq, True)
        val_loss, val_acc = run_epoch(val_loader, model, criterion, None, epoch, args.print_freq, False)
        scheduler.step()
        best = max(best, val_acc)
        row = dict(epoch=epoch, train_loss=train_loss, train_acc=train_acc, val_loss=val_loss, val_acc=val_acc, lr=lr,
                   seconds=time.time() - t0)
        if out:
            out.write(json.dumps(row) + '\n')
            out.flush()
    print('Training Finished (best Acc@1 {:.3f})'.format(best))


if __name__ == '__main__':
    main()
