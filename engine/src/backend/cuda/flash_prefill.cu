// Causal prefill attention on tensor cores (appended to kernels.cu before compiling), in the
// style of FlashAttention-2: one block per tile of FP_QT new tokens of ONE sequence and one
// query head; 4 warps of 16 query rows each. The block walks the sequence's paged KV in chunks
// of FP_KC keys, double-buffered in shared memory: cp.async brings the next chunk while the
// warps compute on this one. Each warp computes S = Q·Kᵀ with mma.sync.m16n8k16 (bf16 in, f32
// accumulate), keeps an online softmax per row in registers, and adds P·V with the same
// instruction (P reused from S's accumulator layout, rounded to bf16; V's fragments come
// transposed from row-major shared memory through ldmatrix.trans).
// Scores are in log2 units (log2(e) is folded into Q) so the exponentials are exp2f.
// HD (head size) is a template parameter so every fragment array is fully unrolled into
// registers; the extern "C" entry points instantiate the supported sizes.

#define FP_QT 64
#define FP_KC 32
#define FP_WARPS 4

__device__ __forceinline__ u32 pack_bf16(float lo, float hi) {
    return (u32)f2bf(lo) | ((u32)f2bf(hi) << 16);
}

// Shared-memory address of a generic pointer (what cp.async and ldmatrix take).
__device__ __forceinline__ u32 smem_addr(const void* p) {
    u32 a;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
    return a;
}

// 16 bytes global -> shared without passing through registers (completes asynchronously).
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(dst)), "l"(src));
}

// d += a·b for one m16n8k16 tile (row-major A 16×16, column-major B 16×8, f32 C/D).
__device__ __forceinline__ void mma_bf16(float* d, const u32* a, u32 b0, u32 b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <int HD>
__device__ __forceinline__ void flash_prefill(
    const float* qkv, int row_stride, bf16* out, const bf16* k_cache, const bf16* v_cache,
    const int* tables, const int* tile_seq, const int* tile_q0, const int* seq_row0,
    const int* seq_start, const int* seq_n_new, const int* seq_table_off, int n_heads,
    int n_kv_heads, int block_size, float scale) {
    const int KS = HD / 16;  // k-steps of Q·Kᵀ
    const int NO = HD / 8;   // n-tiles of the output
    const int NS = FP_KC / 8;  // n-tiles of S
    // Two stages of K and V rows; +8 bf16 per row: the fragment loads of 8 rows hit 32
    // distinct banks.
    __shared__ __align__(16) bf16 k_s[2][FP_KC][HD + 8];
    __shared__ __align__(16) bf16 v_s[2][FP_KC][HD + 8];

    int seq = tile_seq[blockIdx.x], q0 = tile_q0[blockIdx.x], h = blockIdx.y;
    int n_new = seq_n_new[seq], start = seq_start[seq], row0 = seq_row0[seq];
    int nq = min(FP_QT, n_new - q0);
    int kvh = h / (n_heads / n_kv_heads);
    const int* table = tables + seq_table_off[seq];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int quad = lane >> 2, qc = (lane & 3) * 2;  // fragment row in an 8-row group, column pair
    int r0 = warp * 16 + quad, r1 = r0 + 8;     // this thread's two query rows in the tile

    // Q fragments (A operand), scaled into log2 units; rows past the tile are zero.
    u32 qf[KS][4];
    float qs = scale * 1.4426950408889634f;
#pragma unroll
    for (int ks = 0; ks < KS; ks++) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
            int c = ks * 16 + half * 8 + qc;
#pragma unroll
            for (int rr = 0; rr < 2; rr++) {
                int r = rr ? r1 : r0;
                float a = 0.0f, b = 0.0f;
                if (r < nq) {
                    const float* qrow = qkv + (size_t)(row0 + q0 + r) * row_stride + h * HD;
                    a = qrow[c] * qs;
                    b = qrow[c + 1] * qs;
                }
                qf[ks][half * 2 + rr] = pack_bf16(a, b);
            }
        }
    }

    float o[NO][4];
#pragma unroll
    for (int i = 0; i < NO; i++) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
    int pos0 = start + q0 + r0, pos1 = start + q0 + r1;  // positions of this thread's rows
    int ctx_end = start + q0 + nq;
    // Position of the warp's last row; -1 when the tile ends before the warp's rows begin.
    int warp_pos = warp * 16 < nq ? start + q0 + min(warp * 16 + 15, nq - 1) : -1;

    const int UNITS = HD / 8;  // 16-byte units per key row
    // Stage `st` <- keys j0 .. j0 + FP_KC: consecutive threads take consecutive 16-byte units
    // of a row (coalesced); keys past the context are zeros (P is 0 there, and 0 × garbage
    // could be NaN).
    auto load = [&](int st, int j0) {
        for (int t = threadIdx.x; t < FP_KC * UNITS; t += blockDim.x) {
            int kj = t / UNITS, u = t - kj * UNITS, j = j0 + kj;
            if (j < ctx_end) {
                size_t off = (((size_t)table[j / block_size] * n_kv_heads + kvh) * block_size +
                              j % block_size) * HD + u * 8;
                cp_async16(&k_s[st][kj][u * 8], k_cache + off);
                cp_async16(&v_s[st][kj][u * 8], v_cache + off);
            } else {
                *reinterpret_cast<uint4*>(&k_s[st][kj][u * 8]) = make_uint4(0, 0, 0, 0);
                *reinterpret_cast<uint4*>(&v_s[st][kj][u * 8]) = make_uint4(0, 0, 0, 0);
            }
        }
        asm volatile("cp.async.commit_group;\n" ::);
    };
    load(0, 0);
    for (int j0 = 0, st = 0; j0 < ctx_end; j0 += FP_KC, st ^= 1) {
        if (j0 + FP_KC < ctx_end) {
            load(st ^ 1, j0 + FP_KC);  // that stage was last read before the loop's end sync
            asm volatile("cp.async.wait_group 1;\n" ::);
        } else {
            asm volatile("cp.async.wait_group 0;\n" ::);
        }
        __syncthreads();
        // Warp-uniform: a warp whose rows all precede this chunk has nothing to add.
        if (j0 <= warp_pos) {
            float s[NS][4];
#pragma unroll
            for (int nt = 0; nt < NS; nt++) {
                s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
                for (int ks = 0; ks < KS; ks++) {
                    const bf16* kr = &k_s[st][nt * 8 + quad][ks * 16 + qc];
                    u32 b0 = *reinterpret_cast<const u32*>(kr);
                    u32 b1 = *reinterpret_cast<const u32*>(kr + 8);
                    mma_bf16(s[nt], qf[ks], b0, b1);
                }
            }
            // Causal mask and the chunk's row maxima (a row's values sit in one quad of lanes).
            float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < NS; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int j = j0 + nt * 8 + qc + e;
                    if (j >= ctx_end || j > pos0) s[nt][e] = -INFINITY;
                    if (j >= ctx_end || j > pos1) s[nt][2 + e] = -INFINITY;
                    mx0 = fmaxf(mx0, s[nt][e]);
                    mx1 = fmaxf(mx1, s[nt][2 + e]);
                }
            }
#pragma unroll
            for (int x = 1; x <= 2; x <<= 1) {
                mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, x));
                mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, x));
            }
            float mn0 = fmaxf(m0, mx0), mn1 = fmaxf(m1, mx1);
            // A row with nothing visible yet keeps base 0 so no exp sees (-inf) - (-inf).
            float b0s = mn0 == -INFINITY ? 0.0f : mn0, b1s = mn1 == -INFINITY ? 0.0f : mn1;
            float c0 = exp2f(m0 - b0s), c1 = exp2f(m1 - b1s);
            m0 = mn0;
            m1 = mn1;
            float ps0 = 0.0f, ps1 = 0.0f;
#pragma unroll
            for (int nt = 0; nt < NS; nt++) {
                s[nt][0] = exp2f(s[nt][0] - b0s);
                s[nt][1] = exp2f(s[nt][1] - b0s);
                s[nt][2] = exp2f(s[nt][2] - b1s);
                s[nt][3] = exp2f(s[nt][3] - b1s);
                ps0 += s[nt][0] + s[nt][1];
                ps1 += s[nt][2] + s[nt][3];
            }
            // Thread-partial row sums; the quad's partials are added once at the end.
            l0 = l0 * c0 + ps0;
            l1 = l1 * c1 + ps1;
#pragma unroll
            for (int i = 0; i < NO; i++) {
                o[i][0] *= c0;
                o[i][1] *= c0;
                o[i][2] *= c1;
                o[i][3] *= c1;
            }
            // O += P·V: S's accumulator layout for keys 16kk..16kk+15 is P's A-operand layout.
#pragma unroll
            for (int kk = 0; kk < FP_KC / 16; kk++) {
                u32 pa[4] = {
                    pack_bf16(s[2 * kk][0], s[2 * kk][1]),
                    pack_bf16(s[2 * kk][2], s[2 * kk][3]),
                    pack_bf16(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                    pack_bf16(s[2 * kk + 1][2], s[2 * kk + 1][3]),
                };
                // Lane l addresses row (l % 8) of matrix l / 8: keys +0 / +8, dims +0 / +8.
                int m = lane >> 3;
                const bf16* vrow = &v_s[st][kk * 16 + (m & 1) * 8 + (lane & 7)][(m >> 1) * 8];
#pragma unroll
                for (int dt = 0; dt < NO; dt += 2) {
                    u32 b[4];
                    asm volatile(
                        "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                        : "=r"(b[0]), "=r"(b[1]), "=r"(b[2]), "=r"(b[3])
                        : "r"(smem_addr(vrow + dt * 8)));
                    mma_bf16(o[dt], pa, b[0], b[1]);
                    mma_bf16(o[dt + 1], pa, b[2], b[3]);
                }
            }
        }
        __syncthreads();  // every warp is done with this stage before it is refilled
    }

#pragma unroll
    for (int x = 1; x <= 2; x <<= 1) {
        l0 += __shfl_xor_sync(0xffffffffu, l0, x);
        l1 += __shfl_xor_sync(0xffffffffu, l1, x);
    }
    int dim = n_heads * HD;
    float i0 = 1.0f / l0, i1 = 1.0f / l1;
#pragma unroll
    for (int dt = 0; dt < NO; dt++) {
        int c = h * HD + dt * 8 + qc;
        if (r0 < nq)
            *reinterpret_cast<u32*>(out + (size_t)(row0 + q0 + r0) * dim + c) =
                pack_bf16(o[dt][0] * i0, o[dt][1] * i0);
        if (r1 < nq)
            *reinterpret_cast<u32*>(out + (size_t)(row0 + q0 + r1) * dim + c) =
                pack_bf16(o[dt][2] * i1, o[dt][3] * i1);
    }
}

// Entry points per head size (same arguments as paged_attention; head_dim is HD).
extern "C" __global__ void __launch_bounds__(FP_WARPS * 32)
flash_prefill_hd16(const float* qkv, int row_stride, bf16* out, const bf16* k_cache,
                    const bf16* v_cache, const int* tables, const int* tile_seq,
                    const int* tile_q0, const int* seq_row0, const int* seq_start,
                    const int* seq_n_new, const int* seq_table_off, int n_heads, int n_kv_heads,
                    int head_dim, int block_size, float scale) {
    flash_prefill<16>(qkv, row_stride, out, k_cache, v_cache, tables, tile_seq, tile_q0,
                        seq_row0, seq_start, seq_n_new, seq_table_off, n_heads, n_kv_heads,
                        block_size, scale);
}

extern "C" __global__ void __launch_bounds__(FP_WARPS * 32)
flash_prefill_hd64(const float* qkv, int row_stride, bf16* out, const bf16* k_cache,
                    const bf16* v_cache, const int* tables, const int* tile_seq,
                    const int* tile_q0, const int* seq_row0, const int* seq_start,
                    const int* seq_n_new, const int* seq_table_off, int n_heads, int n_kv_heads,
                    int head_dim, int block_size, float scale) {
    flash_prefill<64>(qkv, row_stride, out, k_cache, v_cache, tables, tile_seq, tile_q0,
                        seq_row0, seq_start, seq_n_new, seq_table_off, n_heads, n_kv_heads,
                        block_size, scale);
}

extern "C" __global__ void __launch_bounds__(FP_WARPS * 32)
flash_prefill_hd128(const float* qkv, int row_stride, bf16* out, const bf16* k_cache,
                    const bf16* v_cache, const int* tables, const int* tile_seq,
                    const int* tile_q0, const int* seq_row0, const int* seq_start,
                    const int* seq_n_new, const int* seq_table_off, int n_heads, int n_kv_heads,
                    int head_dim, int block_size, float scale) {
    flash_prefill<128>(qkv, row_stride, out, k_cache, v_cache, tables, tile_seq, tile_q0,
                        seq_row0, seq_start, seq_n_new, seq_table_off, n_heads, n_kv_heads,
                        block_size, scale);
}
