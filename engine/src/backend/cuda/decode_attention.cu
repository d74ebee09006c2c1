// Flash-decoding for the step's decode rows (sequences with exactly one new token), appended
// to kernels.cu before compiling. A decode query reads its whole context once, so the work is
// pure memory traffic; one block per (sequence, head) leaves most SMs idle at small batch
// (40 blocks on 132 SMs for 13B at batch 1), so the context is also split across blocks
// (blockIdx.z) and the splits' partial softmaxes are merged by `merge_decode_splits`.
//
// Inside a block, a group of DEC_LPK = head_dim/8 lanes owns one key at a time: each lane loads
// 8 bf16 of K and of V with one 16-byte load, the group reduces the score with shuffles, and
// keeps its own online softmax (m, l, acc[8]). DEC_KPR keys per group are in flight per round
// so each lane has 2·DEC_KPR 16-byte loads outstanding. Groups are merged through shared memory at the
// end. head_dim must be a power of two from 8 to 256 (the host checks before choosing this path).

#define DEC_THREADS 128
#define DEC_KPR 4

__device__ __forceinline__ void bf16x8(uint4 w, float* f) {
    u32 p[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        f[2 * i] = __uint_as_float(p[i] << 16);
        f[2 * i + 1] = __uint_as_float(p[i] & 0xffff0000u);
    }
}

extern "C" __global__ void __launch_bounds__(DEC_THREADS)
paged_decode_attention(const float* qkv, int row_stride, bf16* out, float* part_acc,
                       float* part_ml, const bf16* k_cache, const bf16* v_cache,
                       const int* tables, const int* dec_seq, const int* seq_row0,
                       const int* seq_start, const int* seq_table_off, int n_heads,
                       int n_kv_heads, int head_dim, int block_size, float scale, int split_len) {
    __shared__ float acc_s[DEC_THREADS * 8];
    __shared__ float m_s[DEC_THREADS], l_s[DEC_THREADS];

    int i = blockIdx.x, h = blockIdx.y, split = blockIdx.z, n_splits = gridDim.z;
    int seq = dec_seq[i], row = seq_row0[seq];
    int ctx = seq_start[seq] + 1;  // the new token sees every earlier key and itself
    int k_begin = split * split_len, k_end = min(ctx, k_begin + split_len);
    int kvh = h / (n_heads / n_kv_heads);
    const int* table = tables + seq_table_off[seq];
    int lpk = head_dim >> 3, groups = DEC_THREADS / lpk;
    int g = threadIdx.x / lpk, li = threadIdx.x - g * lpk;

    float q[8], acc[8];
    const float* qrow = qkv + (size_t)row * row_stride + h * head_dim + li * 8;
#pragma unroll
    for (int d = 0; d < 8; d++) {
        q[d] = qrow[d] * scale;
        acc[d] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;

    // Rounds are uniform across the block so every lane takes part in every shuffle. A group
    // takes DEC_KPR keys per round, all loads issued before any use.
    for (int base = k_begin; base < k_end; base += DEC_KPR * groups) {
        uint4 kw[DEC_KPR], vw[DEC_KPR];
        float sc[DEC_KPR];
#pragma unroll
        for (int r = 0; r < DEC_KPR; r++) {
            int j = base + r * groups + g;
            kw[r] = vw[r] = make_uint4(0, 0, 0, 0);
            if (j < k_end) {
                size_t o = (((size_t)table[j / block_size] * n_kv_heads + kvh) * block_size +
                            j % block_size) * head_dim + li * 8;
                kw[r] = *reinterpret_cast<const uint4*>(k_cache + o);
                vw[r] = *reinterpret_cast<const uint4*>(v_cache + o);
            }
        }
#pragma unroll
        for (int r = 0; r < DEC_KPR; r++) {
            float f[8];
            bf16x8(kw[r], f);
            sc[r] = 0.0f;
#pragma unroll
            for (int d = 0; d < 8; d++) sc[r] += q[d] * f[d];
        }
        for (int o = lpk >> 1; o > 0; o >>= 1) {
#pragma unroll
            for (int r = 0; r < DEC_KPR; r++) sc[r] += __shfl_xor_sync(0xffffffffu, sc[r], o);
        }
        // Keys past the split end (group-uniform) are -inf: weight 0.
        float s_max = -INFINITY;
#pragma unroll
        for (int r = 0; r < DEC_KPR; r++) {
            if (base + r * groups + g >= k_end) sc[r] = -INFINITY;
            s_max = fmaxf(s_max, sc[r]);
        }
        if (s_max == -INFINITY) continue;  // group-uniform: no key of this round is its own
        float m_new = fmaxf(m, s_max);
        float corr = expf(m - m_new);  // m = -inf on the first key: corr = 0
        l *= corr;
#pragma unroll
        for (int d = 0; d < 8; d++) acc[d] *= corr;
#pragma unroll
        for (int r = 0; r < DEC_KPR; r++) {
            float p = expf(sc[r] - m_new), f[8];
            l += p;
            bf16x8(vw[r], f);
#pragma unroll
            for (int d = 0; d < 8; d++) acc[d] += p * f[d];
        }
        m = m_new;
    }

    // Merge the groups: group g's partial lives at acc_s[g * head_dim ..].
#pragma unroll
    for (int d = 0; d < 8; d++) acc_s[g * head_dim + li * 8 + d] = acc[d];
    if (li == 0) {
        m_s[g] = m;
        l_s[g] = l;
    }
    __syncthreads();
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float mx = -INFINITY;
        for (int k = 0; k < groups; k++) mx = fmaxf(mx, m_s[k]);
        float lsum = 0.0f, a = 0.0f;
        if (mx != -INFINITY) {
            for (int k = 0; k < groups; k++) {
                float w = expf(m_s[k] - mx);  // an empty group has m = -inf: weight 0
                lsum += l_s[k] * w;
                a += acc_s[k * head_dim + d] * w;
            }
        }
        if (n_splits == 1) {
            out[(size_t)row * n_heads * head_dim + h * head_dim + d] = f2bf(a / lsum);
        } else {
            size_t p = ((size_t)i * n_heads + h) * n_splits + split;
            part_acc[p * head_dim + d] = a;
            if (d == 0) {
                part_ml[2 * p] = mx;
                part_ml[2 * p + 1] = lsum;
            }
        }
    }
}

// One block per (decode row, head), one thread per dimension: the softmax-weighted merge of the
// splits' partials. Split 0 always holds key 0, so the maximum is finite.
extern "C" __global__ void merge_decode_splits(const float* part_acc, const float* part_ml,
                                               bf16* out, const int* dec_seq,
                                               const int* seq_row0, int n_heads, int head_dim,
                                               int n_splits) {
    int i = blockIdx.x, h = blockIdx.y, d = threadIdx.x;
    if (d >= head_dim) return;
    size_t p0 = ((size_t)i * n_heads + h) * n_splits;
    float mx = -INFINITY;
    for (int s = 0; s < n_splits; s++) mx = fmaxf(mx, part_ml[2 * (p0 + s)]);
    float lsum = 0.0f, a = 0.0f;
    for (int s = 0; s < n_splits; s++) {
        float w = expf(part_ml[2 * (p0 + s)] - mx);
        lsum += part_ml[2 * (p0 + s) + 1] * w;
        a += part_acc[(p0 + s) * head_dim + d] * w;
    }
    int row = seq_row0[dec_seq[i]];
    out[(size_t)row * n_heads * head_dim + h * head_dim + d] = f2bf(a / lsum);
}
