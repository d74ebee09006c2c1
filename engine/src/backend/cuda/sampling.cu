// Next-token choice on the device (appended to kernels.cu before compiling): one block per
// logits row, so only the chosen ids come back to the host.

// Largest value's index, first on ties (like the CPU's argmax).
extern "C" __global__ void argmax_rows(const float* logits, int vocab, u32* out) {
    __shared__ float best_v[1024];
    __shared__ int best_i[1024];
    const float* r = logits + (size_t)blockIdx.x * vocab;
    float bv = -INFINITY;
    int bi = 0x7fffffff;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x)
        if (r[i] > bv) { bv = r[i]; bi = i; }
    best_v[threadIdx.x] = bv;
    best_i[threadIdx.x] = bi;
    __syncthreads();
    for (int s = blockDim.x >> 1; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) {
            float ov = best_v[threadIdx.x + s];
            int oi = best_i[threadIdx.x + s];
            if (ov > best_v[threadIdx.x] || (ov == best_v[threadIdx.x] && oi < best_i[threadIdx.x])) {
                best_v[threadIdx.x] = ov;
                best_i[threadIdx.x] = oi;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) out[blockIdx.x] = best_i[0] == 0x7fffffff ? 0u : (u32)best_i[0];
}

// Temperature + top-p. The nucleus is {p >= t} for the largest threshold t whose mass still
// reaches top_p (found by bisection, no sort); then inverse-CDF sampling with `uniforms[row]`
// over the nucleus in index order. blockDim.x must be a power of two.
extern "C" __global__ void sample_rows(const float* logits, int vocab, const float* uniforms,
                                       float inv_temp, float top_p, u32* out) {
    __shared__ float prefix[1024];
    const float* r = logits + (size_t)blockIdx.x * vocab;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) mx = fmaxf(mx, r[i]);
    mx = block_max(mx);
    float z = 0.0f;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) z += expf((r[i] - mx) * inv_temp);
    float inv_z = 1.0f / block_sum(z);

    float lo = 0.0f, hi = 1.0f;
    if (top_p < 1.0f) {
        for (int it = 0; it < 30; it++) {
            float mid = 0.5f * (lo + hi), mass = 0.0f;
            for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
                float p = expf((r[i] - mx) * inv_temp) * inv_z;
                if (p >= mid) mass += p;
            }
            if (block_sum(mass) >= top_p) lo = mid; else hi = mid;
        }
    }

    // Each thread owns a contiguous chunk; a scan of chunk masses finds the chunk to walk.
    int chunk = (vocab + blockDim.x - 1) / blockDim.x;
    int b = threadIdx.x * chunk, e = min(vocab, b + chunk);
    float mine = 0.0f;
    for (int i = b; i < e; i++) {
        float p = expf((r[i] - mx) * inv_temp) * inv_z;
        if (p >= lo) mine += p;
    }
    prefix[threadIdx.x] = mine;
    __syncthreads();
    for (int s = 1; s < (int)blockDim.x; s <<= 1) {
        float add = (int)threadIdx.x >= s ? prefix[threadIdx.x - s] : 0.0f;
        __syncthreads();
        prefix[threadIdx.x] += add;
        __syncthreads();
    }
    float total = prefix[blockDim.x - 1];
    float target = uniforms[blockIdx.x] * total;
    float before = prefix[threadIdx.x] - mine;
    // The last chunk with mass also takes a target that rounding pushed past the total.
    if (mine > 0.0f && target >= before &&
        (target < before + mine || prefix[threadIdx.x] >= total)) {
        float c = before;
        int pick = -1;
        for (int i = b; i < e; i++) {
            float p = expf((r[i] - mx) * inv_temp) * inv_z;
            if (p < lo) continue;
            pick = i;
            c += p;
            if (target < c) break;
        }
        out[blockIdx.x] = (u32)pick;
    }
}
