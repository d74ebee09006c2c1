// Paged causal attention for a packed step mixing prefill chunks and decode tokens (appended to
// kernels.cu before compiling). Each block takes one tile of up to ATT_QT new tokens of ONE
// sequence and one query head; it walks that sequence's block table in chunks of 32 keys staged
// in shared memory (so the tile's queries share every K/V load), with an online softmax. A query
// at position p sees keys 0..=p of its own sequence only.

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
    __shared__ float q_s[ATT_QT][ATT_HD_MAX];
    __shared__ float k_s[ATT_KC][ATT_HD_MAX + 1];  // +1: lane-per-key reads hit distinct banks
    __shared__ float v_s[ATT_KC][ATT_HD_MAX];
    __shared__ float p_s[ATT_WARPS][ATT_KC];

    int seq = tile_seq[blockIdx.x], q0 = tile_q0[blockIdx.x], h = blockIdx.y;
    int n_new = seq_n_new[seq], start = seq_start[seq], row0 = seq_row0[seq];
    int nq = min(ATT_QT, n_new - q0);
    int kvh = h / (n_heads / n_kv_heads);
    const int* table = tables + seq_table_off[seq];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int QW = ATT_QT / ATT_WARPS;

    for (int t = threadIdx.x; t < ATT_QT * head_dim; t += blockDim.x) {
        int qi = t / head_dim, d = t - qi * head_dim;
        q_s[qi][d] = qi < nq ? qkv[(size_t)(row0 + q0 + qi) * row_stride + h * head_dim + d] : 0.0f;
    }

    // Fully unrolled loops below keep these in registers (no local-memory stack frame).
    float m[QW], l[QW], acc[QW][ATT_HD_MAX / 32];
#pragma unroll
    for (int i = 0; i < QW; i++) {
        m[i] = -INFINITY;
        l[i] = 0.0f;
#pragma unroll
        for (int c = 0; c < ATT_HD_MAX / 32; c++) acc[i][c] = 0.0f;
    }

    int ctx_end = start + q0 + nq;  // keys the last query of the tile sees
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
#pragma unroll
        for (int i = 0; i < QW; i++) {
            int qi = warp * QW + i;
            int pos = start + q0 + qi;
            if (qi >= nq || j0 > pos) continue;  // warp-uniform
            int j = j0 + lane;
            float s = -INFINITY;
            if (j <= pos) {
                float dot = 0.0f;
                for (int d = 0; d < head_dim; d++) dot += q_s[qi][d] * k_s[lane][d];
                s = dot * scale;
            }
            float m_new = fmaxf(m[i], warp_max(s));
            float p = j <= pos ? expf(s - m_new) : 0.0f;
            float corr = expf(m[i] - m_new);
            l[i] = l[i] * corr + warp_sum(p);
            m[i] = m_new;
            p_s[warp][lane] = p;
            __syncwarp();
#pragma unroll
            for (int c = 0; c < ATT_HD_MAX / 32; c++) {
                int d = lane + 32 * c;
                if (d < head_dim) {
                    float a = acc[i][c] * corr;
                    for (int kj = 0; kj < ATT_KC; kj++) a += p_s[warp][kj] * v_s[kj][d];
                    acc[i][c] = a;
                }
            }
            __syncwarp();
        }
    }

    int dim = n_heads * head_dim;
#pragma unroll
    for (int i = 0; i < QW; i++) {
        int qi = warp * QW + i;
        if (qi >= nq) continue;
        bf16* o = out + (size_t)(row0 + q0 + qi) * dim + h * head_dim;
        float inv = 1.0f / l[i];
#pragma unroll
        for (int c = 0; c < ATT_HD_MAX / 32; c++) {
            int d = lane + 32 * c;
            if (d < head_dim) o[d] = f2bf(acc[i][c] * inv);
        }
    }
}
