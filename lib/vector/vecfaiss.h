/*
 * FAISS, loaded on first use.  The C API functions lib/vector*.c call live
 * in the opsctl-faiss.so plugin (see the Makefile); this table holds them,
 * typed from the C API headers themselves, so a mismatch is a compile error.
 * Internal to libopsmaint.
 */
#ifndef OPSMAINT_VECFAISS_H
#define OPSMAINT_VECFAISS_H

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>

#include "faiss_ext.h"
#include "opsmaint/error.h"

#define VF_FUNCS(X) \
	X(get_last_error, faiss_get_last_error) \
	X(Index_free, faiss_Index_free) \
	X(Index_d, faiss_Index_d) \
	X(Index_is_trained, faiss_Index_is_trained) \
	X(Index_ntotal, faiss_Index_ntotal) \
	X(Index_metric_type, faiss_Index_metric_type) \
	X(Index_train, faiss_Index_train) \
	X(Index_add_with_ids, faiss_Index_add_with_ids) \
	X(Index_search, faiss_Index_search) \
	X(Index_reconstruct, faiss_Index_reconstruct) \
	X(Index_remove_ids, faiss_Index_remove_ids) \
	X(read_index_fname, faiss_read_index_fname) \
	X(write_index_fname, faiss_write_index_fname) \
	X(write_index, faiss_write_index) \
	X(read_index, faiss_read_index) \
	X(index_factory, faiss_index_factory) \
	X(IndexIDMap_cast, faiss_IndexIDMap_cast) \
	X(IndexIDMap_id_map, faiss_IndexIDMap_id_map) \
	X(IndexIDMap_sub_index, faiss_IndexIDMap_sub_index) \
	X(IndexFlat_cast, faiss_IndexFlat_cast) \
	X(IndexIVF_cast, faiss_IndexIVF_cast) \
	X(IndexIVF_nlist, faiss_IndexIVF_nlist) \
	X(IndexIVF_nprobe, faiss_IndexIVF_nprobe) \
	X(IndexIVF_get_list_size, faiss_IndexIVF_get_list_size) \
	X(IndexIVF_invlists_get_ids, faiss_IndexIVF_invlists_get_ids) \
	X(ParameterSpace_new, faiss_ParameterSpace_new) \
	X(ParameterSpace_free, faiss_ParameterSpace_free) \
	X(ParameterSpace_set_index_parameter, faiss_ParameterSpace_set_index_parameter) \
	X(IDSelectorBatch_new, faiss_IDSelectorBatch_new) \
	X(IDSelector_free, faiss_IDSelector_free)

struct vf_api {
#define VF_FIELD(name, sym) __typeof__(&sym) name;
	VF_FUNCS(VF_FIELD)
#undef VF_FIELD
	/* Optional (faiss_ext.h): NULL when the plugin lacks it. */
	__typeof__(&opsctl_faiss_reserve) reserve;
	__typeof__(&opsctl_faiss_reserve_lists) reserve_lists;
};

/*
 * The table, loading the plugin the first time: $OPSCTL_FAISS_PLUGIN, else
 * opsctl-faiss.so beside the running binary (a source tree), else
 * PLUGINDIR/opsctl-faiss.so.  Missing or incomplete: OPS_EUNAVAIL naming
 * where it looked.
 */
ops_code vf_load(const struct vf_api **api, ops_error *err);

/* A FAISS call's failure as an ops_error: "what: faiss's message". */
ops_code vf_error(const struct vf_api *f, ops_error *err, ops_code code, const char *what);

#endif
