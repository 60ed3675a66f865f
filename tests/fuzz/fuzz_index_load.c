/*
 * libFuzzer harness for the index loader (issue 4): whatever bytes sit at
 * the index path, with or without a manifest naming them, loading must end
 * in OPS_OK or OPS_EDATA (exit 65), never a crash, a hang or a leak in
 * opsctl.  FAISS itself is not instrumented (Debian ships it prebuilt), so
 * coverage guides the harness's own paths; the seeds are real indexes of
 * every type the guides use, which the mutations damage.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vector/vector_internal.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct vf_api *f = NULL;
	FaissIndex *index = NULL;
	cJSON *m = NULL;
	ops_error err;
	ops_code rc;
	FILE *fp;

	if (!*path) {
		snprintf(path, sizeof path, "/tmp/opsctl-fuzz-%ld.faiss", (long)getpid());
		/* ASan's shadow memory cannot live under the loader's RLIMIT_AS;
		 * libFuzzer's -rss_limit_mb bounds memory here instead. */
		setenv("OPSCTL_INDEX_CHECK_NO_RLIMIT", "1", 1);
	}
	if (vf_load(&f, &err) != OPS_OK) {
		fprintf(stderr, "fuzz: %s\n", err.message);
		abort();
	}
	fp = fopen(path, "wb");
	if (!fp)
		abort();
	fwrite(data, 1, size, fp);
	fclose(fp);
	rc = vidx_load(f, path, &index, &m, NULL, &err);
	if (rc != OPS_OK && rc != OPS_EDATA) {
		fprintf(stderr, "fuzz: unexpected code %d: %s\n", rc, err.message);
		abort();
	}
	if (index)
		f->Index_free(index);
	cJSON_Delete(m);
	unlink(path);
	return 0;
}
