"""PyTorch reference rows for `pnpm bench gpu`: the same ResNet-18 and word_language_model Transformer training steps
as scripts/bench/gpu.ts, on CUDA (when present) and on the CPU. One JSON line per row.

argv: --resnet-batches 64,128 --lm-batch 20 --steps N --threads T
"""
import argparse, json, os, sys, time
import torch, torch.nn as nn, torchvision

# word_language_model's model.py, as transcribed for the parity tests (copied beside this file in the GPU pack).
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, next(d for d in (here, os.path.join(here, '../../packages/transformer-lm/test')) if os.path.exists(os.path.join(d, 'reference_model.py'))))
import reference_model  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument('--resnet-batches', default='64,128')
p.add_argument('--lm-batch', type=int, default=20)
p.add_argument('--steps', type=int, default=20)
p.add_argument('--threads', type=int, default=torch.get_num_threads())
p.add_argument('--seconds', type=float, default=20)
args = p.parse_args()
torch.set_num_threads(args.threads)
T, V, E, H, NH, L = 35, 33278, 200, 200, 2, 2


def timed(step, device):
    sync = torch.cuda.synchronize if device == 'cuda' else (lambda: None)
    for _ in range(3): step()
    sync()
    t0 = time.perf_counter(); n = 0
    while n < args.steps and (n == 0 or time.perf_counter() - t0 < args.seconds):
        step(); n += 1
    sync()
    return (time.perf_counter() - t0) * 1000 / n, n


def emit(model, device, batch, ms, n):
    name = torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'
    print(json.dumps({'model': model, 'device': device, 'batch': batch, 'ms': ms, 'steps': n, 'threads': torch.get_num_threads(),
                      'name': name, 'version': torch.__version__}), flush=True)


devices = (['cuda'] if torch.cuda.is_available() else []) + ['cpu']
for device in devices:
    torch.manual_seed(0)
    for batch in [int(b) for b in args.resnet_batches.split(',')]:
        model = torchvision.models.resnet18(num_classes=200).to(device).train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        x = torch.randn(batch, 3, 64, 64, device=device); y = torch.randint(0, 200, (batch,), device=device)

        def step():
            opt.zero_grad(); nn.functional.cross_entropy(model(x), y).backward(); opt.step()
        emit('resnet18', device, batch, *timed(step, device))
    lm = reference_model.TransformerModel(V, E, NH, H, L, 0.2).to(device).train()
    data = torch.randint(0, V, (T, args.lm_batch), device=device); targets = torch.randint(0, V, (T * args.lm_batch,), device=device)

    def lm_step():  # main.py's train(): zero_grad, NLL, backward, clip 0.25, p.data.add_(grad, alpha=-lr)
        lm.zero_grad(); nn.functional.nll_loss(lm(data).view(-1, V), targets).backward()
        torch.nn.utils.clip_grad_norm_(lm.parameters(), 0.25)
        for p_ in lm.parameters(): p_.data.add_(p_.grad, alpha=-20)
    emit('transformer', device, args.lm_batch, *timed(lm_step, device))
