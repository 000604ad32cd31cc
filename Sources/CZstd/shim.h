#ifndef SLUICE_CZSTD_SHIM_H
#define SLUICE_CZSTD_SHIM_H
/* The static-linking-only part of zstd.h (frame headers, size estimates, the maximum
   window): sluice links libzstd.a, the library the header describes, so these are
   stable for it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <stddef.h>
#include <zstd.h>
#include <zstd_errors.h>

/* libzstd's own XXH64, the hash of a frame's checksum (its low 32 bits): xxhash.h as
   libzstd 1.5 builds it (XXH_NAMESPACE=ZSTD_), exported by libzstd.a (not by the shared
   library, which is why sluice links the archive in every build). The state is opaque
   here; XXH_errorcode is an int-sized enum, 0 for XXH_OK. */
typedef struct XXH64_state_s ZSTD_XXH64_state_t;
ZSTD_XXH64_state_t *ZSTD_XXH64_createState(void);
int ZSTD_XXH64_freeState(ZSTD_XXH64_state_t *state);
int ZSTD_XXH64_reset(ZSTD_XXH64_state_t *state, unsigned long long seed);
int ZSTD_XXH64_update(ZSTD_XXH64_state_t *state, const void *input, size_t length);
unsigned long long ZSTD_XXH64_digest(const ZSTD_XXH64_state_t *state);
#endif
