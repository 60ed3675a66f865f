/*
 * What opsctl's FAISS plugin offers beyond the C API (lib/vector/faiss_capi.cpp).
 * Optional: a plugin built from a system libfaiss_c lacks it, and vecfaiss.c
 * then leaves its entry NULL.  Internal to libopsmaint.
 */
#ifndef OPSMAINT_FAISS_EXT_H
#define OPSMAINT_FAISS_EXT_H

#include <faiss/c_api/Index_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Room for n more vectors in a flat index, bare or under an IDMap: adding
 * them then grows no std::vector by doubling, which otherwise copies the
 * whole index at each doubling and touches twice its size in pages.  Only
 * address space is taken until the vectors are added, so a generous n costs
 * little; any other kind of index is left as it is.  0, or non-zero (and
 * faiss_get_last_error) when the memory could not be had.
 */
int opsctl_faiss_reserve(FaissIndex *index, idx_t n);

/*
 * Room in each inverted list of a trained IVF index (bare or under an
 * IDMap) for its share of n vectors, the share estimated by assigning the
 * ns vectors x (the training sample) to the lists, plus a tenth: the lists
 * then grow by doubling only where the estimate fell short, instead of
 * ending, as doubling does, with about 1.4 times the codes' size allocated.
 * Any other kind of index is left as it is.  0, or non-zero (and
 * faiss_get_last_error) when the memory could not be had.
 */
int opsctl_faiss_reserve_lists(FaissIndex *index, idx_t ns, const float *x, idx_t n);

#ifdef __cplusplus
}
#endif

#endif
