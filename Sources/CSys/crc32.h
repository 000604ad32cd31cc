#ifndef SLUICE_CSYS_CRC32_H
#define SLUICE_CSYS_CRC32_H
/* CRC-32 with carry-less multiplication: zlib 1.2.13's crc32 (braided tables) runs at about
   2 GB/s here, 12-22% of gunzip's CPU; folding with PCLMULQDQ runs at about 14 GB/s
   (256 MiB: 0.019 s against 0.123 s), and with VPCLMULQDQ on 512-bit registers about 4x
   that again. Header-only, compiled by Swift's clang importer; the Swift side
   (ZStream.swift's crc32) checks the CPU once, takes the widest fold it has, and hands
   the tail of fewer than 16 bytes, and every CPU without the instructions, to zlib.
   Checked against zlib's crc32 at every length to 3,000 and every alignment, each fold
   on its own, by CRC32Tests. SwiftPM does not
   track a system module's headers: after editing this one, touch ZStream.swift. */
#include <stdint.h>
#include <stddef.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#define SLUICE_HAS_CRC32_FOLD 1

/* The rest of the fold below, from four lanes x1..x4 that hold the running value of the 64 bytes
   before `buf`: `len` more bytes (a multiple of 16) folded in, the lanes reduced to 32 bits. */
__attribute__((target("pclmul,sse4.1")))
static inline uint32_t sluice_crc32_fold_lanes(__m128i x1, __m128i x2, __m128i x3, __m128i x4,
                                               const unsigned char *buf, size_t len) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    while (len >= 64) {
        __m128i x5 = _mm_clmulepi64_si128(x1, k1k2, 0x00);
        __m128i x6 = _mm_clmulepi64_si128(x2, k1k2, 0x00);
        __m128i x7 = _mm_clmulepi64_si128(x3, k1k2, 0x00);
        __m128i x8 = _mm_clmulepi64_si128(x4, k1k2, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k1k2, 0x11);
        x2 = _mm_clmulepi64_si128(x2, k1k2, 0x11);
        x3 = _mm_clmulepi64_si128(x3, k1k2, 0x11);
        x4 = _mm_clmulepi64_si128(x4, k1k2, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128((const __m128i *)(buf + 0x00)));
        x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128((const __m128i *)(buf + 0x10)));
        x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128((const __m128i *)(buf + 0x20)));
        x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128((const __m128i *)(buf + 0x30)));
        buf += 64; len -= 64;
    }
    /* Four lanes into one. */
    __m128i x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x2), x5);
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x3), x5);
    x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
    x1 = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x1, k3k4, 0x11), x4), x5);
    while (len >= 16) {
        x5 = _mm_clmulepi64_si128(x1, k3k4, 0x00);
        x1 = _mm_clmulepi64_si128(x1, k3k4, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, _mm_loadu_si128((const __m128i *)buf)), x5);
        buf += 16; len -= 16;
    }
    /* 128 bits to 64, then 64 to 32 by Barrett reduction. */
    const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
    x2 = _mm_clmulepi64_si128(x1, k3k4, 0x10);
    x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, mask32);
    x1 = _mm_xor_si128(_mm_clmulepi64_si128(x1, k5k0, 0x00), x2);
    x2 = _mm_and_si128(x1, mask32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x10);
    x2 = _mm_and_si128(x2, mask32);
    x2 = _mm_clmulepi64_si128(x2, poly, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

/* CRC-32 (gzip's, reflected 0xEDB88320) of `len` bytes, len >= 64 and a multiple of 16,
   folding four 128-bit lanes with PCLMULQDQ (Intel, "Fast CRC Computation for Generic
   Polynomials Using PCLMULQDQ", 2009; the constants are x^(k) mod P, bit-reflected).
   `crc` is the running value without zlib's pre- and post-inversion. */
__attribute__((target("pclmul,sse4.1")))
static inline uint32_t sluice_crc32_fold(const unsigned char *buf, size_t len, uint32_t crc) {
    __m128i x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    __m128i x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    return sluice_crc32_fold_lanes(x1, x2, x3, x4, buf + 64, len - 64);
}

/* The same with VPCLMULQDQ on 512-bit registers, for len >= 256 (a multiple of 16): four
   registers of four 128-bit lanes fold 256 bytes a turn (constants x^(2048+32) and
   x^(2048-32) mod P, as zlib-ng's crc32_vpclmulqdq has them), then fold into one another
   64 bytes apart (x^(512+-32), the 128-bit fold's k1k2), and the last register's four
   lanes go on as x1..x4 above. On 128 KiB in cache here (AMD EPYC, Zen 4) it runs at
   45-58 GB/s against 8-13 GB/s for the 128-bit fold: the workers of `gunzip -p`, which
   check every member's CRC, spent 4% of their time on it with 128 bits, now about 1%. */
__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1")))
static inline __m512i sluice_crc32_fold512(__m512i z, __m512i k, __m512i next) {
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(z, k, 0x00),
                                     _mm512_clmulepi64_epi128(z, k, 0x11), next, 0x96);
}

__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.1")))
static inline uint32_t sluice_crc32_fold_wide(const unsigned char *buf, size_t len, uint32_t crc) {
    const __m512i k256 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x01322d1430, 0x011542778a));
    const __m512i k64 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x01c6e41596, 0x0154442bd4));
    __m512i z1 = _mm512_loadu_si512((const void *)(buf + 0x00));
    __m512i z2 = _mm512_loadu_si512((const void *)(buf + 0x40));
    __m512i z3 = _mm512_loadu_si512((const void *)(buf + 0x80));
    __m512i z4 = _mm512_loadu_si512((const void *)(buf + 0xc0));
    z1 = _mm512_xor_si512(z1, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)crc)));
    buf += 256; len -= 256;
    while (len >= 256) {
        z1 = sluice_crc32_fold512(z1, k256, _mm512_loadu_si512((const void *)(buf + 0x00)));
        z2 = sluice_crc32_fold512(z2, k256, _mm512_loadu_si512((const void *)(buf + 0x40)));
        z3 = sluice_crc32_fold512(z3, k256, _mm512_loadu_si512((const void *)(buf + 0x80)));
        z4 = sluice_crc32_fold512(z4, k256, _mm512_loadu_si512((const void *)(buf + 0xc0)));
        buf += 256; len -= 256;
    }
    z2 = sluice_crc32_fold512(z1, k64, z2);
    z3 = sluice_crc32_fold512(z2, k64, z3);
    z4 = sluice_crc32_fold512(z3, k64, z4);
    return sluice_crc32_fold_lanes(_mm512_extracti32x4_epi32(z4, 0), _mm512_extracti32x4_epi32(z4, 1),
                                   _mm512_extracti32x4_epi32(z4, 2), _mm512_extracti32x4_epi32(z4, 3), buf, len);
}

/* 1 when this CPU has PCLMULQDQ and SSE4.1 (CPUID leaf 1, ECX bits 1 and 19). */
static inline int sluice_crc32_has_clmul(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & (1u << 1)) && (ecx & (1u << 19));
}

/* 1 when this CPU has VPCLMULQDQ and AVX-512F (CPUID leaf 7: ECX bit 10, EBX bit 16) and
   the OS saves the 512-bit registers (XCR0 bits 1, 2, 5, 6, 7), besides the above. */
static inline int sluice_crc32_has_vpclmul(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!sluice_crc32_has_clmul()) return 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;  /* OSXSAVE */
    unsigned int xcr0_lo, xcr0_hi;
    __asm__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 0xe6) != 0xe6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & (1u << 10)) && (ebx & (1u << 16));
}
#else
#define SLUICE_HAS_CRC32_FOLD 0
static inline uint32_t sluice_crc32_fold(const unsigned char *buf, size_t len, uint32_t crc) {
    (void)buf; (void)len; return crc;
}
static inline int sluice_crc32_has_clmul(void) { return 0; }
static inline uint32_t sluice_crc32_fold_wide(const unsigned char *buf, size_t len, uint32_t crc) {
    (void)buf; (void)len; return crc;
}
static inline int sluice_crc32_has_vpclmul(void) { return 0; }
#endif

#endif
