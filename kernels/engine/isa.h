/* The instruction sets the engine's C is compiled for, and which one this CPU runs; and rowops.h compiled
 * once per instruction set. Shared by kernels.c (the engine) and kernels/cython_kernels.pyx (the cython
 * backend's activation loops), so both pick a path by the same test.
 *
 * Nothing is compiled with -march: each path is a copy of the code with its own target attribute. After
 * this header, on x86 with gcc or clang: rowops.h's functions exist with the suffixes _portable, _avx2 and
 * _avx512 (elsewhere _portable only), and mmb_detect_isa() says which this CPU can run. Define
 * MMB_OWN_EXP_ROWS_X86 before including it to leave out the x86 copies of exp_rows (kernels.c has them in
 * intrinsics). */
#ifndef MMB_ISA_H
#define MMB_ISA_H

#include "engine.h"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define MMB_X86 1
#include <immintrin.h>
#define TGT_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#define TGT_AVX2 __attribute__((target("avx2,fma")))
#else
#define MMB_X86 0
#endif

/* The best path this CPU supports (MMB_ISA_*). */
static inline int mmb_detect_isa(void) {
#if MMB_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return MMB_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return MMB_ISA_AVX2;
#endif
    return MMB_ISA_PORTABLE;
}

/* ---- rowops.h, once per instruction set. FLOOR_VECTORISES: how exp_poly rounds (see there). ---- */
#define TGT
#define SFX portable
#define FLOOR_VECTORISES 0
#include "rowops.h"
#undef FLOOR_VECTORISES
#undef TGT
#undef SFX
#if MMB_X86
#ifdef MMB_OWN_EXP_ROWS_X86
#define MMB_OWN_EXP_ROWS
#endif
#define FLOOR_VECTORISES 1
#define TGT TGT_AVX2
#define SFX avx2
#include "rowops.h"
#undef TGT
#undef SFX
#define TGT TGT_AVX512
#define SFX avx512
#include "rowops.h"
#undef TGT
#undef SFX
#undef FLOOR_VECTORISES
#undef MMB_OWN_EXP_ROWS
#endif

#endif
