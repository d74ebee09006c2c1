// Paged causal attention for a packed step mixing prefill chunks and decode tokens (appended to
// kernels.cu before compiling). Each block takes one tile of up to ATT_QT new tokens of ONE
// sequence and one query head; it walks that sequence's block table in chunks of 32 keys staged
// in shared memory (so the tile's queries share every K/V load), with an online softmax. A query
// at position p sees keys 0..=p of its own sequence only. Each warp owns ATT_QT/ATT_WARPS
// queries: for scores a lane owns one key and reuses it for all of them; for P·V a lane owns
// four dimensions (float4), so shared-memory loads are amortized over several FMAs.
// head_dim must be a multiple of 4 and at most ATT_HD_MAX.

#define ATT_QT 16
#define ATT_WARPS 4
#define ATT_HD_MAX 128
#define ATT_KC 32

extern "C" __global__ void __launch_bounds__(ATT_WARPS * 32)
paged_attention(const float* qkv, int row_stride, bf16* out, const bf16* k_cache,
                const bf16* v_cache, const int* tables, const int* tile_seq, const int* tile_q0,
                const int* seq_row0, const int* seq_start, const int* seq_n_new,
                const int* seq_table_off, int n_heads, int n_kv_heads, int head_dim,
                int block_size, float scale) {
    const int QW = ATT_QT / ATT_WARPS;
    __shared__ __align__(16) float q_s[ATT_QT][ATT_HD_MAX];
    // Row stride 132: float4 reads of 8 lanes' keys hit 32 distinct banks.
    __shared__ __align__(16) float k_s[ATT_KC][ATT_HD_MAX + 4];
    __shared__ __align__(16) float v_s[ATT_KC][ATT_HD_MAX];
    __shared__ float p_s[ATT_WARPS][ATT_QT / ATT_WARPS][ATT_KC];

    int seq = tile_seq[blockIdx.x], q0 = tile_q0[blockIdx.x], h = blockIdx.y;
    int n_new = seq_n_new[seq], start = seq_start[seq], row0 = seq_row0[seq];
    int nq = min(ATT_QT, n_new - q0);
    int kvh = h / (n_heads / n_kv_heads);
    const int* table = tables + seq_table_off[seq];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int d0 = 4 * lane;  // this lane's dimensions in P·V and the output

    for (int t = threadIdx.x; t < ATT_QT * head_dim; t += blockDim.x) {
        int qi = t / head_dim, d = t - qi * head_dim;
        q_s[qi][d] = qi < nq ? qkv[(size_t)(row0 + q0 + qi) * row_stride + h * head_dim + d] : 0.0f;
    }

    // Fully unrolled loops keep these in registers (no local-memory stack frame).
    float m[QW], l[QW];
    float4 acc[QW];
#pragma unroll
    for (int i = 0; i < QW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
        acc[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    }

    int ctx_end = start + q0 + nq;  // keys the last query of the tile sees
    // Last position among this warp's queries (-1: the warp has none).
    int warp_last = min(warp * QW + QW, nq) - 1;
    int warp_pos = warp_last >= 0 ? start + q0 + warp_last : -1;
    for (int j0 = 0; j0 < ctx_end; j0 += ATT_KC) {
        __syncthreads();
        for (int t = threadIdx.x; t < ATT_KC * head_dim; t += blockDim.x) {
            int kj = t / head_dim, d = t - kj * head_dim, j = j0 + kj;
            float kv = 0.0f, vv = 0.0f;
            if (j < ctx_end) {
                int blk = table[j / block_size], slot = j % block_size;
                size_t o = (((size_t)blk * n_kv_heads + kvh) * block_size + slot) * head_dim + d;
                kv = bf2f(k_cache[o]);
                vv = bf2f(v_cache[o]);
            }
            k_s[kj][d] = kv;
            v_s[kj][d] = vv;
        }
        __syncthreads();
        if (j0 > warp_pos) continue;  // warp-uniform: no key here is visible to its queries

        float sc[QW];
#pragma unroll
        for (int i = 0; i < QW; i++) sc[i] = 0.0f;
        for (int d = 0; d < head_dim; d += 4) {
            float4 k4 = *reinterpret_cast<const float4*>(&k_s[lane][d]);
#pragma unroll
            for (int i = 0; i < QW; i++) {
                float4 q4 = *reinterpret_cast<const float4*>(&q_s[warp * QW + i][d]);
                sc[i] += q4.x * k4.x + q4.y * k4.y + q4.z * k4.z + q4.w * k4.w;
            }
        }
        int j = j0 + lane;
        float corr[QW];
#pragma unroll
        for (int i = 0; i < QW; i++) {
            int qi = warp * QW + i;
            bool live = qi < nq && j <= start + q0 + qi;
            float s = live ? sc[i] * scale : -INFINITY;
            float m_new = fmaxf(m[i], warp_max(s));
            float p = live ? expf(s - m_new) : 0.0f;
            corr[i] = m_new == -INFINITY ? 1.0f : expf(m[i] - m_new);
            l[i] = l[i] * corr[i] + warp_sum(p);
            m[i] = m_new;
            p_s[warp][i][lane] = p;
        }
        __syncwarp();
        if (d0 < head_dim) {
#pragma unroll
            for (int i = 0; i < QW; i++) {
                acc[i].x *= corr[i];
                acc[i].y *= corr[i];
                acc[i].z *= corr[i];
                acc[i].w *= corr[i];
            }
            for (int kj = 0; kj < ATT_KC; kj++) {
                float4 v4 = *reinterpret_cast<const float4*>(&v_s[kj][d0]);
#pragma unroll
                for (int i = 0; i < QW; i++) {
                    float p = p_s[warp][i][kj];
                    acc[i].x += p * v4.x;
                    acc[i].y += p * v4.y;
                    acc[i].z += p * v4.z;
                    acc[i].w += p * v4.w;
                }
            }
        }
        __syncwarp();
    }

    int dim = n_heads * head_dim;
#pragma unroll
    for (int i = 0; i < QW; i++) {
        int qi = warp * QW + i;
        if (qi >= nq || d0 >= head_dim) continue;
        bf16* o = out + (size_t)(row0 + q0 + qi) * dim + h * head_dim + d0;
        float inv = 1.0f / l[i];
        o[0] = f2bf(acc[i].x * inv);
        o[1] = f2bf(acc[i].y * inv);
        o[2] = f2bf(acc[i].z * inv);
        o[3] = f2bf(acc[i].w * inv);
    }
}
