"""Time the kernels the simulator's cost model prices, on a real GPU.

Writes CSVs (seconds are medians of CUDA-event timings after warm-up):
  gemm.csv       op,model,tp,tokens,in,out,seconds        fp16 A(tokens x in) @ B(in x out/tp)
  attention.csv  phase,heads,kv_heads,head_dim,batch,tokens,context,seconds   SDPA, causal prefill / decode
  device.txt     GPU name, driver, torch version
Used by `simrun` checks of the fitted device profiles (see README). Run: python3 gpu_kernels.py OUTDIR
"""
import sys, os, torch

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = False


def median_time(fn, repeats=15, warmup=3):
    """Kernel time: enough back-to-back launches between two CUDA events that
    the GPU never waits for Python (as under CUDA graphs), divided out."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    s.record(); fn(); e.record(); torch.cuda.synchronize()
    inner = max(1, min(64, int(300e-6 / max(s.elapsed_time(e) * 1e-3, 1e-7))))
    times = []
    for _ in range(repeats):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(inner):
            fn()
        e.record()
        torch.cuda.synchronize()
        times.append(s.elapsed_time(e) * 1e-3 / inner)
    times.sort()
    return times[len(times) // 2]


# Layer GEMM shapes of three catalog models (hidden, heads, kv_heads, ffn), as Vidur profiles them.
models = {"Llama-2-7B": (4096, 32, 32, 11008), "Llama-2-70B": (8192, 64, 8, 28672), "Llama-3-8B": (4096, 32, 8, 14336)}
tokens_list = [1, 2, 4, 8, 16, 32, 64, 128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096]
with open(f"{out}/gemm.csv", "w") as f:
    f.write("op,model,tp,tokens,in,out,seconds\n")
    for name, (h, heads, kv, ffn) in models.items():
        hd = h // heads
        ops = [("attn_pre_proj", h, h + 2 * kv * hd), ("attn_post_proj", h, h), ("mlp_up_proj", h, 2 * ffn),
               ("mlp_down_proj", ffn, h)]
        for tp in [1, 2, 4, 8]:
            for op, k, n in ops:
                # Several weight copies so each timed product streams its weights from HBM, as a forward pass does.
                copies = max(2, (512 << 20) // (k * (n // tp) * 2))
                weights = [torch.randn(k, n // tp, device=dev, dtype=torch.float16) for _ in range(min(copies, 16))]
                for t in tokens_list:
                    a = torch.randn(t, k, device=dev, dtype=torch.float16)
                    idx = [0]
                    def run():
                        torch.matmul(a, weights[idx[0] % len(weights)])
                        idx[0] += 1
                    f.write(f"{op},{name},{tp},{t},{k},{n},{median_time(run)}\n")
                del weights

from torch.nn.functional import scaled_dot_product_attention as sdpa
with open(f"{out}/attention.csv", "w") as f:
    f.write("phase,heads,kv_heads,head_dim,batch,tokens,context,seconds\n")
    for heads, kv in [(32, 8), (32, 32), (16, 2)]:
        d = 128
        for t in [128, 256, 512, 1024, 2048, 4096, 8192]:
            q = torch.randn(1, heads, t, d, device=dev, dtype=torch.float16)
            k = torch.randn(1, kv, t, d, device=dev, dtype=torch.float16)
            v = torch.randn(1, kv, t, d, device=dev, dtype=torch.float16)
            f.write(f"prefill,{heads},{kv},{d},1,{t},{t},{median_time(lambda: sdpa(q, k, v, is_causal=True, enable_gqa=True))}\n")
        for b in [1, 8, 32, 128]:
            for c in [256, 1024, 4096]:
                q = torch.randn(b, heads, 1, d, device=dev, dtype=torch.float16)
                k = torch.randn(b, kv, c, d, device=dev, dtype=torch.float16)
                v = torch.randn(b, kv, c, d, device=dev, dtype=torch.float16)
                f.write(f"decode,{heads},{kv},{d},{b},1,{c},{median_time(lambda: sdpa(q, k, v, enable_gqa=True))}\n")

with open(f"{out}/device.txt", "w") as f:
    f.write(f"{torch.cuda.get_device_name(0)}\ntorch {torch.__version__}\n")
    f.write(os.popen("nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv").read())
print(open(f"{out}/device.txt").read())
