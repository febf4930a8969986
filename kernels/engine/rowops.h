/* Row operations and the generic GEMM epilogue, written once in plain C and compiled three times by
 * isa.h (for AVX-512, AVX2/FMA and the portable baseline) with a different target attribute TGT and
 * name suffix SFX, so gcc/clang vectorise each copy for that instruction set.  Included, not compiled alone.
 *
 * Needs -fno-trapping-math (setup.py): without it gcc does not vectorise floorf in exp_poly. */

#define MMB_CAT_(a, b) a##_##b
#define MMB_CAT(a, b) MMB_CAT_(a, b)
#define F(name) MMB_CAT(name, SFX)

/* exp(x) for x <= 0 (softmax after the row maximum is subtracted): Cephes' expf. x = n ln2 + r with
 * |r| <= ln2/2, exp(r) by a degree-7 polynomial (relative error ~1e-7), times 2^n built in the exponent
 * bits. Below -87 the result is 0 (float32's smallest normal is exp(-87.3)): the rows sum to >= 1. */
#ifndef MMB_EXP_CONSTANTS
#define MMB_EXP_CONSTANTS /* shared with kernels.c's AVX-512 exp16_avx512 */
#define MMB_EXP_LOW (-87.0f)
#define MMB_EXP_LOG2E 1.44269504088896341f
#define MMB_EXP_LN2_HI 0.693359375f
#define MMB_EXP_LN2_LO (-2.12194440e-4f)
#define MMB_EXP_P0 1.9875691500e-4f
#define MMB_EXP_P1 1.3981999507e-3f
#define MMB_EXP_P2 8.3334519073e-3f
#define MMB_EXP_P3 4.1665795894e-2f
#define MMB_EXP_P4 1.6666665459e-1f
#define MMB_EXP_P5 5.0000001201e-1f
#endif
/* n = round(x / ln2), written as gcc vectorises it on each instruction set (FLOOR_VECTORISES, set by
 * isa.h): from SSE4.1 on, floorf(y + 1/2); the baseline (SSE2) has no vector floor, but truncates toward
 * zero, so for y <= 0 the truncation of y - 1/2 rounds (and from SSE4.1 on gcc 12 does not vectorise that
 * conversion). The two differ only at ties, where either n gives |r| <= ln2/2. */
TGT static inline float F(exp_poly)(float x) {
    x = x < MMB_EXP_LOW ? MMB_EXP_LOW : x;
#if FLOOR_VECTORISES
    float fx = floorf(x * MMB_EXP_LOG2E + 0.5f);
#else
    float fx = (float)(int32_t)(x * MMB_EXP_LOG2E - 0.5f);
#endif
    float r = x - fx * MMB_EXP_LN2_HI;
    r = r - fx * MMB_EXP_LN2_LO;
    float y = MMB_EXP_P0;
    y = y * r + MMB_EXP_P1;
    y = y * r + MMB_EXP_P2;
    y = y * r + MMB_EXP_P3;
    y = y * r + MMB_EXP_P4;
    y = y * r + MMB_EXP_P5;
    y = y * r * r + r + 1.0f;
    int32_t bits = ((int32_t)fx + 127) << 23;
    float p2;
    memcpy(&p2, &bits, sizeof p2);
    return x <= MMB_EXP_LOW ? 0.0f : y * p2;
}

/* The activations on a row, in float32 with exp_poly, so the compiler vectorises them (one libm call per
 * element would cost more than the GEMM for gelu models such as all-MiniLM). Same formulas as
 * functional.py: gelu with Abramowitz & Stegun 7.1.26 for erf (the reference's own approximation),
 * tanh(u) = sign(u) (1 - e) / (1 + e) with e = exp(-2|u|), silu = x / (1 + exp(-x)), and the sigmoid-
 * and mish-based ones, all written so that exp only sees arguments <= 0. Differences to the float64
 * reference: a few float32 ulps. */
TGT static void F(act_row)(float *y, int n, int act) {
    switch (act) {
    case MMB_ACT_RELU:  /* written so that NaN stays NaN, as np.maximum (and torch.relu) keep it */
        for (int j = 0; j < n; j++) y[j] = y[j] < 0.0f ? 0.0f : y[j];
        break;
    case MMB_ACT_GELU:
    case MMB_ACT_GELU_10:
        for (int j = 0; j < n; j++) {
            float x = y[j], u = x * 0.70710678118654752f, z = u < 0.0f ? -u : u;
            float t = 1.0f / (1.0f + 0.3275911f * z);
            float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f
                                                                                         + t * 1.061405429f))));
            float erf_abs = 1.0f - poly * F(exp_poly)(-z * z);
            y[j] = 0.5f * x * (1.0f + (u < 0.0f ? -erf_abs : erf_abs));
        }
        if (act == MMB_ACT_GELU_10)
            for (int j = 0; j < n; j++) y[j] = y[j] < -10.0f ? -10.0f : (y[j] > 10.0f ? 10.0f : y[j]);
        break;
    case MMB_ACT_GELU_NEW:
    case MMB_ACT_TANH:
        for (int j = 0; j < n; j++) {
            float x = y[j];
            float u = act == MMB_ACT_TANH ? x : 0.7978845608028654f * (x + 0.044715f * x * x * x);
            float a = u < 0.0f ? -u : u, e = F(exp_poly)(-2.0f * a), th = (1.0f - e) / (1.0f + e);
            th = u < 0.0f ? -th : th;
            y[j] = act == MMB_ACT_TANH ? th : 0.5f * x * (1.0f + th);
        }
        break;
    case MMB_ACT_SILU:
    case MMB_ACT_QUICK_GELU:
    case MMB_ACT_SIGMOID:
        for (int j = 0; j < n; j++) {  /* x * sigmoid(k x), or sigmoid(x) */
            float x = y[j], v = act == MMB_ACT_QUICK_GELU ? 1.702f * x : x;
            float e = F(exp_poly)(v < 0.0f ? v : -v);  /* exp(-|v|) */
            float s = v < 0.0f ? e / (1.0f + e) : 1.0f / (1.0f + e);
            y[j] = act == MMB_ACT_SIGMOID ? s : x * s;
        }
        break;
    case MMB_ACT_RELU6:
        for (int j = 0; j < n; j++) y[j] = y[j] < 0.0f ? 0.0f : (y[j] > 6.0f ? 6.0f : y[j]);
        break;
    case MMB_ACT_LEAKY_RELU:
        for (int j = 0; j < n; j++) y[j] = y[j] > 0.0f ? y[j] : 0.01f * y[j];
        break;
    case MMB_ACT_RELU2:
        for (int j = 0; j < n; j++) y[j] = y[j] < 0.0f ? 0.0f : y[j] * y[j];
        break;
    case MMB_ACT_HARDSWISH:
        for (int j = 0; j < n; j++) {
            float x = y[j], r = x + 3.0f;
            y[j] = x * (r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r)) / 6.0f;
        }
        break;
    case MMB_ACT_MISH:
        /* x tanh(log(1 + e^x)) = x m / (m + 2), m = e^x (e^x + 2); with e = exp(-|x|) only: for x < 0,
         * m = e (e + 2); for x >= 0, m / (m + 2) = (1 + 2e) / (1 + 2e + 2e^2) */
        for (int j = 0; j < n; j++) {
            float x = y[j], e = F(exp_poly)(x < 0.0f ? x : -x), m = e * (e + 2.0f);
            y[j] = x < 0.0f ? x * m / (m + 2.0f) : x * (1.0f + 2.0f * e) / (1.0f + 2.0f * e + 2.0f * e * e);
        }
        break;
    default:
        break;
    }
}

/* Store an accumulator tile t[mr][nr] (row stride ldt) into C (row stride ldc) through the epilogue.
 * row0, col0: where the tile sits in the whole output (to index bias, residual and NoNorm vectors). */
TGT static void F(epi_store)(const float *t, ptrdiff_t ldt, int mr, int nr, float *C, ptrdiff_t ldc,
                             ptrdiff_t row0, ptrdiff_t col0, const mmb_epilogue *e) {
    float y[64]; /* one row of the tile (nr <= 32): the residual may be C itself, so C is written last */
    for (int i = 0; i < mr; i++) {
        const float *ti = t + i * ldt;
        float *c = C + i * ldc;
        for (int j = 0; j < nr; j++) y[j] = ti[j];
        if (e != NULL) {
            if (e->bias) {
                const float *b = e->bias + col0;
                for (int j = 0; j < nr; j++) y[j] += b[j];
            }
            if (e->act != MMB_ACT_NONE) F(act_row)(y, nr, e->act);
            if (e->res) {
                const float *r = e->res + (row0 + i) * e->ldr + col0;
                for (int j = 0; j < nr; j++) y[j] += r[j];
            }
            if (e->scale) {
                const float *s = e->scale + col0, *h = e->shift + col0;
                for (int j = 0; j < nr; j++) y[j] = y[j] * s[j] + h[j];
            }
        }
        for (int j = 0; j < nr; j++) c[j] = y[j];
    }
}

/* Copy A[M, K] into panels of MR rows: panel p holds rows p*MR .. p*MR+MR-1 as [K][MR] (k-major), missing
 * rows zero. The micro-kernel then reads one contiguous stream. */
TGT static void F(pack_a)(const float *A, ptrdiff_t lda, ptrdiff_t M, ptrdiff_t K, int MR, float *out) {
    for (ptrdiff_t p = 0; p < M; p += MR) {
        int mr = (int)(M - p < MR ? M - p : MR);
        const float *rows[16];
        for (int i = 0; i < MR; i++) rows[i] = A + (p + (i < mr ? i : 0)) * lda;
        if (mr == MR) {
            for (ptrdiff_t k = 0; k < K; k++)
                for (int i = 0; i < MR; i++) out[k * MR + i] = rows[i][k];
        } else {
            for (ptrdiff_t k = 0; k < K; k++)
                for (int i = 0; i < MR; i++) out[k * MR + i] = i < mr ? rows[i][k] : 0.0f;
        }
        out += K * MR;
    }
}

/* LayerNorm of each row, in place. Both sums (the mean, then the variance about it) are taken in double, as
 * MMB_LN_LANES interleaved partial sums (element j goes to sum j mod MMB_LN_LANES; they are added in a fixed
 * order at the end): gcc vectorises that, whereas one running sum is a chain of dependent adds, ~4 cycles an
 * element (measured: 3.3% of an all-MiniLM-L6-v2 forward, against 0.3% for the same rows with 16 sums). */
#ifndef MMB_LN_LANES
#define MMB_LN_LANES 16
#endif
TGT static inline double F(add_lanes)(double t, const double *lanes) { /* t, then the lanes in order */
    for (int l = 0; l < MMB_LN_LANES; l++) t += lanes[l];
    return t;
}

TGT static void F(layer_norm_rows)(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w,
                                   const float *b, float eps) {
    const ptrdiff_t body = N / MMB_LN_LANES * MMB_LN_LANES;
    for (ptrdiff_t i = 0; i < M; i++) {
        float *x = X + i * ld;
        double s[MMB_LN_LANES] = {0.0}, st = 0.0;
        for (ptrdiff_t j = 0; j < body; j += MMB_LN_LANES)
            for (int l = 0; l < MMB_LN_LANES; l++) s[l] += (double)x[j + l];
        for (ptrdiff_t j = body; j < N; j++) st += x[j];
        float mean = (float)(F(add_lanes)(st, s) / (double)N);
        double v[MMB_LN_LANES] = {0.0};
        for (ptrdiff_t j = 0; j < body; j += MMB_LN_LANES)
            for (int l = 0; l < MMB_LN_LANES; l++) {
                float c = x[j + l] - mean;
                v[l] += (double)(c * c);
            }
        double vt = 0.0;
        for (ptrdiff_t j = body; j < N; j++) {
            float c = x[j] - mean;
            vt += (double)(c * c);
        }
        float denom = sqrtf((float)(F(add_lanes)(vt, v) / (double)N) + eps);
        for (ptrdiff_t j = 0; j < N; j++) x[j] = (x[j] - mean) / denom * w[j] + b[j];
    }
}

TGT static void F(no_norm_rows)(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w,
                                const float *b) {
    for (ptrdiff_t i = 0; i < M; i++) {
        float *x = X + i * ld;
        for (ptrdiff_t j = 0; j < N; j++) x[j] = x[j] * w[j] + b[j];
    }
}

#ifndef MMB_OWN_EXP_ROWS /* kernels.c has its own AVX-512 version */
TGT static void F(exp_rows)(float *S, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, float scale, const float *mask,
                            float *sums) {
    for (ptrdiff_t i = 0; i < M; i++) {
        float *s = S + i * ld;
        for (ptrdiff_t j = 0; j < N; j++) s[j] *= scale;
        if (mask)
            for (ptrdiff_t j = 0; j < N; j++) s[j] += mask[j];
        float mx[16];
        for (int l = 0; l < 16; l++) mx[l] = -INFINITY;
        ptrdiff_t j = 0;
        for (; j + 16 <= N; j += 16)
            for (int l = 0; l < 16; l++) mx[l] = s[j + l] > mx[l] ? s[j + l] : mx[l];
        float m = -INFINITY;
        for (int l = 0; l < 16; l++) m = mx[l] > m ? mx[l] : m;
        for (; j < N; j++) m = s[j] > m ? s[j] : m;
        for (j = 0; j < N; j++) s[j] = F(exp_poly)(s[j] - m);
        float acc[16] = {0};
        for (j = 0; j + 16 <= N; j += 16)
            for (int l = 0; l < 16; l++) acc[l] += s[j + l];
        float total = 0.0f;
        for (int l = 0; l < 16; l++) total += acc[l];
        for (; j < N; j++) total += s[j];
        sums[i] = total;
    }
}
#endif

#undef F
