// PyTorch CPU reference scripts, run with Debian's /usr/bin/python3 (python3-torch 1.13 + OpenBLAS-openmp) and given
// the same thread count as the wasm run. Each prints one JSON line; peak RSS comes from getrusage (KiB on Linux).

/** argv: batch steps threads. torchvision ResNet-18, 200 classes, SGD(lr 0.1, momentum 0.9, wd 1e-4), 64x64 inputs. */
export const TORCH_RESNET_STEP = `
import json, resource, sys, time, torch, torchvision
batch, steps, threads = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=200)
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
loss_fn = torch.nn.CrossEntropyLoss()
x = torch.randn(batch, 3, 64, 64)
y = torch.randint(0, 200, (batch,))
def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()
for _ in range(2): step()
times = []
for _ in range(steps):
    t0 = time.perf_counter()
    loss = step()
    times.append(time.perf_counter() - t0)
dt = sorted(times)[len(times) // 2]  # median: steps on a shared VM vary by +-15%
print(json.dumps({"device": "pytorch-cpu", "batch": batch, "threads": torch.get_num_threads(), "msPerStep": dt * 1000,
  "imagesPerSec": batch / dt, "peakRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "loss": loss,
  "torch": torch.__version__}))
`

/** argv: n threads reps. GFLOP/s of an n x n float32 matmul (2n^3 flops). */
export const TORCH_MATMUL = `
import json, sys, time, torch
n, threads, reps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
a = torch.randn(n, n); b = torch.randn(n, n)
for _ in range(2): torch.mm(a, b)
t0 = time.perf_counter()
for _ in range(reps): torch.mm(a, b)
dt = (time.perf_counter() - t0) / reps
print(json.dumps({"device": "pytorch-cpu", "n": n, "threads": torch.get_num_threads(), "ms": dt * 1000, "gflops": 2 * n ** 3 / dt / 1e9}))
`
