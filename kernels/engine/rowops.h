/* Row operations and the generic GEMM epilogue, written once in plain C and compiled three times by
 * kernels.c (for AVX-512, AVX2/FMA and the portable baseline) with a different target attribute TGT and
 * name suffix SFX, so gcc/clang vectorise each copy for that instruction set.  Included, not compiled alone.
 *
 * Needs -fno-trapping-math (setup.py): without it gcc does not vectorise floorf in exp_poly. */

#define MMB_CAT_(a, b) a##_##b
#define MMB_CAT(a, b) MMB_CAT_(a, b)
#define F(name) MMB_CAT(name, SFX)

/* One activation, the formulas of minimobilebert/functional.py (gelu with libm's erf, in double). */
TGT static inline float F(act1)(float v, int act) {
    switch (act) {
    case MMB_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case MMB_ACT_GELU: return (float)(0.5 * v * (1.0 + erf(v * 0.7071067811865476)));
    case MMB_ACT_GELU_NEW: {
        float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
        return 0.5f * v * (1.0f + tanhf(inner));
    }
    case MMB_ACT_TANH: return tanhf(v);
    case MMB_ACT_SILU: return (float)(v / (1.0 + exp(-(double)v)));
    default: return v;
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
            if (e->act == MMB_ACT_RELU) {
                for (int j = 0; j < nr; j++) y[j] = y[j] > 0.0f ? y[j] : 0.0f;
            } else if (e->act != MMB_ACT_NONE) {
                for (int j = 0; j < nr; j++) y[j] = F(act1)(y[j], e->act);
            }
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

TGT static void F(layer_norm_rows)(float *X, ptrdiff_t M, ptrdiff_t N, ptrdiff_t ld, const float *w,
                                   const float *b, float eps) {
    for (ptrdiff_t i = 0; i < M; i++) {
        float *x = X + i * ld;
        double s = 0.0;
        for (ptrdiff_t j = 0; j < N; j++) s += x[j];
        float mean = (float)(s / (double)N);
        double v = 0.0;
        for (ptrdiff_t j = 0; j < N; j++) {
            float c = x[j] - mean;
            v += (double)(c * c);
        }
        float denom = sqrtf((float)(v / (double)N) + eps);
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

/* exp(x) for x <= 0 (softmax after the row maximum is subtracted): Cephes' expf. x = n ln2 + r with
 * |r| <= ln2/2, exp(r) by a degree-7 polynomial (relative error ~1e-7), times 2^n built in the exponent
 * bits. Below -87 the result is 0 (float32's smallest normal is exp(-87.3)): the rows sum to >= 1. */
TGT static inline float F(exp_poly)(float x) {
    x = x < -87.0f ? -87.0f : x;
    float fx = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - fx * 0.693359375f;
    r = r - fx * -2.12194440e-4f;
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    int32_t bits = ((int32_t)fx + 127) << 23;
    float p2;
    memcpy(&p2, &bits, sizeof p2);
    return x <= -87.0f ? 0.0f : y * p2;
}

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

#undef F
