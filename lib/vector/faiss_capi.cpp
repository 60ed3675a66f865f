/*
 * The FAISS C API functions opsctl calls, implemented against libfaiss.a.
 * Debian's libfaiss-dev ships the C API headers (faiss/c_api) but not the library behind
 * them; this file is that library, cut down to what lib/vector*.c uses, with
 * the headers' own signatures (so `make FAISS_C_LIBS=-lfaiss_c` can drop it
 * for a system libfaiss_c).  Every C++ exception becomes a non-zero return
 * and a message for faiss_get_last_error(): no exception ever crosses into
 * C, which is the point of the C API.
 */
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexFlat.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

extern "C" {
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
}
#include "faiss_ext.h"

namespace {

thread_local std::string last_error;

template <typename F>
int guarded(F f)
{
	try {
		f();
		return 0;
	} catch (const faiss::FaissException &e) {
		last_error = e.what();
		return -2;
	} catch (const std::bad_alloc &) {
		last_error = "out of memory";
		return -4;
	} catch (const std::exception &e) {
		last_error = e.what();
		return -4;
	} catch (...) {
		last_error = "unknown C++ exception";
		return -1;
	}
}

faiss::Index *idx(FaissIndex *p)
{
	return reinterpret_cast<faiss::Index *>(p);
}

const faiss::Index *idx(const FaissIndex *p)
{
	return reinterpret_cast<const faiss::Index *>(p);
}

} // namespace

extern "C" {

const char *faiss_get_last_error()
{
	return last_error.empty() ? nullptr : last_error.c_str();
}

void faiss_Index_free(FaissIndex *obj)
{
	delete idx(obj);
}

int faiss_Index_d(const FaissIndex *index)
{
	return idx(index)->d;
}

int faiss_Index_is_trained(const FaissIndex *index)
{
	return idx(index)->is_trained ? 1 : 0;
}

idx_t faiss_Index_ntotal(const FaissIndex *index)
{
	return idx(index)->ntotal;
}

FaissMetricType faiss_Index_metric_type(const FaissIndex *index)
{
	return static_cast<FaissMetricType>(idx(index)->metric_type);
}

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x)
{
	return guarded([&] { idx(index)->train(n, x); });
}

int faiss_Index_add_with_ids(FaissIndex *index, idx_t n, const float *x, const idx_t *xids)
{
	return guarded([&] {
		idx(index)->add_with_ids(n, x, reinterpret_cast<const faiss::Index::idx_t *>(xids));
	});
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k,
		       float *distances, idx_t *labels)
{
	return guarded([&] {
		idx(index)->search(n, x, k, distances, reinterpret_cast<faiss::Index::idx_t *>(labels));
	});
}

int faiss_Index_reconstruct(const FaissIndex *index, idx_t key, float *recons)
{
	return guarded([&] { idx(index)->reconstruct(key, recons); });
}

int faiss_Index_remove_ids(FaissIndex *index, const FaissIDSelector *sel, size_t *n_removed)
{
	return guarded([&] {
		size_t n = idx(index)->remove_ids(*reinterpret_cast<const faiss::IDSelector *>(sel));
		if (n_removed)
			*n_removed = n;
	});
}

int faiss_read_index_fname(const char *fname, int io_flags, FaissIndex **p_out)
{
	return guarded([&] {
		*p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(fname, io_flags));
	});
}

int faiss_write_index_fname(const FaissIndex *index, const char *fname)
{
	return guarded([&] { faiss::write_index(idx(index), fname); });
}

int faiss_write_index(const FaissIndex *index, FILE *f)
{
	return guarded([&] { faiss::write_index(idx(index), f); });
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out)
{
	return guarded([&] {
		*p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, io_flags));
	});
}

int faiss_index_factory(FaissIndex **p_index, int d, const char *description, FaissMetricType metric)
{
	return guarded([&] {
		*p_index = reinterpret_cast<FaissIndex *>(
			faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
	});
}

FaissIndexIDMap *faiss_IndexIDMap_cast(FaissIndex *index)
{
	return reinterpret_cast<FaissIndexIDMap *>(dynamic_cast<faiss::IndexIDMap *>(idx(index)));
}

void faiss_IndexIDMap_id_map(FaissIndexIDMap *index, idx_t **p_id_map, size_t *p_size)
{
	auto *m = reinterpret_cast<faiss::IndexIDMap *>(index);

	*p_id_map = reinterpret_cast<idx_t *>(m->id_map.data());
	*p_size = m->id_map.size();
}

FaissIndex *faiss_IndexIDMap_sub_index(FaissIndexIDMap *index)
{
	return reinterpret_cast<FaissIndex *>(reinterpret_cast<faiss::IndexIDMap *>(index)->index);
}

FaissIndexFlat *faiss_IndexFlat_cast(FaissIndex *index)
{
	return reinterpret_cast<FaissIndexFlat *>(dynamic_cast<faiss::IndexFlat *>(idx(index)));
}

FaissIndexIVF *faiss_IndexIVF_cast(FaissIndex *index)
{
	return reinterpret_cast<FaissIndexIVF *>(dynamic_cast<faiss::IndexIVF *>(idx(index)));
}

size_t faiss_IndexIVF_nlist(const FaissIndexIVF *index)
{
	return reinterpret_cast<const faiss::IndexIVF *>(index)->nlist;
}

size_t faiss_IndexIVF_nprobe(const FaissIndexIVF *index)
{
	return reinterpret_cast<const faiss::IndexIVF *>(index)->nprobe;
}

size_t faiss_IndexIVF_get_list_size(const FaissIndexIVF *index, size_t list_no)
{
	return reinterpret_cast<const faiss::IndexIVF *>(index)->get_list_size(list_no);
}

void faiss_IndexIVF_invlists_get_ids(const FaissIndexIVF *index, size_t list_no, idx_t *invlist)
{
	const faiss::IndexIVF *ivf = reinterpret_cast<const faiss::IndexIVF *>(index);
	size_t n = ivf->invlists->list_size(list_no);
	const faiss::Index::idx_t *ids = ivf->invlists->get_ids(list_no);

	std::memcpy(invlist, ids, n * sizeof(idx_t));
	ivf->invlists->release_ids(list_no, ids);
}

int faiss_ParameterSpace_new(FaissParameterSpace **space)
{
	return guarded([&] {
		*space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace());
	});
}

void faiss_ParameterSpace_free(FaissParameterSpace *space)
{
	delete reinterpret_cast<faiss::ParameterSpace *>(space);
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space, FaissIndex *index,
					     const char *name, double value)
{
	return guarded([&] {
		reinterpret_cast<const faiss::ParameterSpace *>(space)->set_index_parameter(idx(index),
											 name, value);
	});
}

int faiss_IDSelectorBatch_new(FaissIDSelectorBatch **p_sel, size_t n, const idx_t *indices)
{
	return guarded([&] {
		*p_sel = reinterpret_cast<FaissIDSelectorBatch *>(new faiss::IDSelectorBatch(
			n, reinterpret_cast<const faiss::Index::idx_t *>(indices)));
	});
}

void faiss_IDSelector_free(FaissIDSelector *obj)
{
	delete reinterpret_cast<faiss::IDSelector *>(obj);
}

int opsctl_faiss_reserve(FaissIndex *index, idx_t n)
{
	return guarded([&] {
		faiss::Index *i = idx(index);

		if (n <= 0)
			return;
		if (auto *m = dynamic_cast<faiss::IndexIDMap *>(i)) {
			m->id_map.reserve(m->id_map.size() + (size_t)n);
			i = m->index;
		}
		if (auto *f = dynamic_cast<faiss::IndexFlatCodes *>(i)) {
			size_t rows = (size_t)f->ntotal + (size_t)n;

			if (f->code_size && rows > f->codes.max_size() / f->code_size)
				throw std::bad_alloc();
			f->codes.reserve(rows * f->code_size);
		}
	});
}

int opsctl_faiss_reserve_lists(FaissIndex *index, idx_t ns, const float *x, idx_t n)
{
	return guarded([&] {
		faiss::Index *i = idx(index);

		if (auto *m = dynamic_cast<faiss::IndexIDMap *>(i))
			i = m->index;
		auto *ivf = dynamic_cast<faiss::IndexIVF *>(i);
		if (!ivf || ns <= 0 || n <= 0 || !ivf->is_trained)
			return;
		auto *al = dynamic_cast<faiss::ArrayInvertedLists *>(ivf->invlists);
		if (!al)
			return;
		std::vector<faiss::Index::idx_t> list((size_t)ns);
		std::vector<size_t> count(ivf->nlist, 0);

		ivf->quantizer->assign(ns, x, list.data());
		for (auto l : list)
			if (l >= 0)
				count[(size_t)l]++;
		for (size_t l = 0; l < ivf->nlist; l++) {
			size_t want = (size_t)((double)count[l] / (double)ns * (double)n * 1.1) + 8;

			want += al->ids[l].size();
			al->ids[l].reserve(want);
			al->codes[l].reserve(want * al->code_size);
		}
	});
}

} // extern "C"
