#ifndef SLUICE_CZSTD_SHIM_H
#define SLUICE_CZSTD_SHIM_H
/* The static-linking-only part of zstd.h (frame headers, size estimates, the maximum
   window): sluice links libzstd.a, the library the header describes, so these are
   stable for it. */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>
#endif
