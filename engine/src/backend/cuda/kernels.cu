// Goodput Lab device kernels. Header-free on purpose: NVRTC has no built-in cuda_bf16.h, so bf16
// travels as `unsigned short` and is converted by bit shifts in f32. Every entry point is
// extern "C" so the host finds it by name. Layouts mirror the CPU engine (engine/src/cpu).

typedef unsigned short bf16;
typedef unsigned int u32;
typedef unsigned long long u64;

// No math.h under NVRTC without headers.
#define INFINITY __int_as_float(0x7f800000)

__device__ __forceinline__ float bf2f(bf16 h) { return __uint_as_float(((u32)h) << 16); }

// Round to nearest even; NaN stays NaN (quiet bit kept by the truncation).
__device__ __forceinline__ bf16 f2bf(float f) {
    u32 u = __float_as_uint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (bf16)(u >> 16);
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ float block_sum(float v) {
    __shared__ float red[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < (int)(blockDim.x >> 5) ? red[lane] : 0.0f;
        t = warp_sum(t);
        if (lane == 0) total = t;
    }
    __syncthreads();
    return total;
}

__device__ float block_max(float v) {
    __shared__ float red[32];
    __shared__ float total;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) red[warp] = v;
    __syncthreads();
    if (warp == 0) {
        float t = lane < (int)(blockDim.x >> 5) ? red[lane] : -INFINITY;
        t = warp_max(t);
        if (lane == 0) total = t;
    }
    __syncthreads();
    return total;
}

// One block per row: out = x / rms(x) * w, as bf16 for the next GEMM.
extern "C" __global__ void rms_norm_bf16(const float* x, const float* w, bf16* out, int dim,
                                         float eps) {
    const float* xr = x + (size_t)blockIdx.x * dim;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) ss += xr[i] * xr[i];
    ss = block_sum(ss);
    float scale = 1.0f / sqrtf(ss / (float)dim + eps);
    bf16* o = out + (size_t)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = f2bf(xr[i] * scale * w[i]);
}

// Interleaved-pair rotary embedding (GGUF llama layout) on the first `n_rot_heads` heads of each
// row of `qkv` (queries then keys), in place. One block per token row.
// Blocks (row, part): rotates the row's query heads in place (rotary position
// embedding, adjacent pairs), rotates its key heads and writes them with its value heads into
// the paged bf16 cache at the row's slot (layout per layer, as on the CPU:
// [block][kv_head][slot][head_dim]; `slots[row]` = block * block_size + slot). One launch instead of a rope and a copy kernel: at
// decode batch 1 each launch costs more than its work.
extern "C" __global__ void rope_kv_write(float* qkv, const int* positions, const int* slots,
                                         bf16* k_cache, bf16* v_cache, int row_stride,
                                         int n_heads, int n_kv_heads, int head_dim,
                                         int block_size, float theta) {
    int half = head_dim >> 1;
    float pos = (float)positions[blockIdx.x];
    int slot = slots[blockIdx.x];
    int block = slot / block_size, off = slot - block * block_size;
    float* r = qkv + (size_t)blockIdx.x * row_stride;
    const float* v = r + (n_heads + n_kv_heads) * head_dim;
    // Pairs: query heads, then key heads (rotated), then value heads (copied).
    int n_pairs = (n_heads + 2 * n_kv_heads) * half;
    // blockIdx.y spreads one row's pairs over several blocks (a decode step has few rows).
    for (int t = blockIdx.y * blockDim.x + threadIdx.x; t < n_pairs;
         t += gridDim.y * blockDim.x) {
        int head = t / half, i = t - head * half;
        if (head >= n_heads + n_kv_heads) {
            int h = head - n_heads - n_kv_heads;
            size_t o = (((size_t)block * n_kv_heads + h) * block_size + off) * head_dim + 2 * i;
            const float* p = v + h * head_dim + 2 * i;
            *reinterpret_cast<u32*>(v_cache + o) = (u32)f2bf(p[0]) | ((u32)f2bf(p[1]) << 16);
            continue;
        }
        float freq = 1.0f / powf(theta, (float)(2 * i) / (float)head_dim);
        float s, c;
        sincosf(pos * freq, &s, &c);
        float* p = r + head * head_dim + 2 * i;
        float a = p[0], b = p[1];
        float x = a * c - b * s, y = a * s + b * c;
        if (head < n_heads) {
            p[0] = x;
            p[1] = y;
        } else {
            int h = head - n_heads;
            size_t o = (((size_t)block * n_kv_heads + h) * block_size + off) * head_dim + 2 * i;
            *reinterpret_cast<u32*>(k_cache + o) = (u32)f2bf(x) | ((u32)f2bf(y) << 16);
        }
    }
}

// Rows laid out [gate | up] -> silu(gate) * up as bf16, two columns per thread (d_ffn even):
// 8-byte loads and 4-byte stores.
extern "C" __global__ void silu_mul_bf16(const float* gate_up, bf16* out, int d_ffn, int n_rows) {
    size_t total = (size_t)n_rows * d_ffn / 2;
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < total;
         i += (size_t)gridDim.x * blockDim.x) {
        size_t e = 2 * i, row = e / d_ffn, col = e - row * d_ffn;
        const float* g_row = gate_up + row * 2 * d_ffn;
        float2 g = *reinterpret_cast<const float2*>(g_row + col);
        float2 u = *reinterpret_cast<const float2*>(g_row + d_ffn + col);
        float a = g.x / (1.0f + expf(-g.x)) * u.x, b = g.y / (1.0f + expf(-g.y)) * u.y;
        *reinterpret_cast<u32*>(out + e) = (u32)f2bf(a) | ((u32)f2bf(b) << 16);
    }
}

// One block per token: x[row] = embed[token] (bf16 table -> f32 residual stream).
extern "C" __global__ void embed_gather(const bf16* embed, const u32* tokens, float* x, int dim) {
    const bf16* e = embed + (size_t)tokens[blockIdx.x] * dim;
    float* o = x + (size_t)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = bf2f(e[i]);
}

// Copies chosen f32 rows (the tokens whose logits were asked for).
extern "C" __global__ void gather_rows(const float* x, const int* rows, float* out, int dim) {
    const float* s = x + (size_t)rows[blockIdx.x] * dim;
    float* o = out + (size_t)blockIdx.x * dim;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) o[i] = s[i];
}

// Seeded uniform values in [-scale, scale) (synthetic weights made on the device, no upload).
extern "C" __global__ void fill_uniform_bf16(bf16* out, u64 n, u64 seed, float scale) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n;
         i += (u64)gridDim.x * blockDim.x) {
        u64 z = seed + (i + 1) * 0x9e3779b97f4a7c15ull;  // splitmix64
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        float u = (float)(z >> 40) * (1.0f / 16777216.0f);
        out[i] = f2bf((2.0f * u - 1.0f) * scale);
    }
}

extern "C" __global__ void fill_f32(float* out, u64 n, float value) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n;
         i += (u64)gridDim.x * blockDim.x)
        out[i] = value;
}

// x += y (residual adds the GEMM cannot fold in).
extern "C" __global__ void add_f32(float* x, const float* y, u64 n) {
    for (u64 i = blockIdx.x * (u64)blockDim.x + threadIdx.x; i < n;
         i += (u64)gridDim.x * blockDim.x)
        x[i] += y[i];
}
