/*
 * libFuzzer harness for the parser of the embeddings' COPY (FORMAT binary)
 * rows (issue 4): whatever bytes a server, a proxy or a damaged connection
 * sends as a row, parsing must end in a row, a skipped NULL or OPS_EDATA,
 * never a read outside the message or an allocation the row cannot justify.
 * The parser's file is compiled into the harness, so it is instrumented
 * (libopsmaint.a is not) and its static functions are reachable.
 *
 * Input: byte 0 chooses the column type (low 3 bits), ids-only (bit 3) and
 * whether a COPY header precedes the row (bit 4); the rest is the message.
 * The same row is parsed twice, as rows 0 and 1 of a batch, so a row whose
 * dimension disagrees with the first is exercised too.
 */
#include "../../lib/vector/vector_source.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum emb_kind kinds[] = {EMB_REAL_ARRAY, EMB_DOUBLE_ARRAY, EMB_BYTEA, EMB_PGVECTOR,
					      EMB_TEXT, EMB_JSONB, EMB_REAL_ARRAY, EMB_TEXT};
	struct vsrc s;
	struct cstream cs;
	ops_error err;
	float *x = NULL;
	size_t xcap = 0;
	long long id;
	char *msg;
	int len, off = 0, got, slot;

	if (size < 1 || size > (1u << 20))
		return 0;
	memset(&s, 0, sizeof s);
	memset(&cs, 0, sizeof cs);
	s.kind = kinds[data[0] & 7];
	s.ids_only = (data[0] >> 3) & 1;
	s.desc = (char *)"fuzz";
	pthread_mutex_init(&s.dim_mu, NULL);
	len = (int)size - 1;
	/* An exact-size copy: a read one byte past the message is caught. */
	msg = malloc(len ? (size_t)len : 1);
	if (!msg)
		return 0;
	memcpy(msg, data + 1, (size_t)len);
	if (data[0] & 16) {
		off = copy_header_len(msg, len);
		if (off < 0)
			goto out;
	}
	for (slot = 0; slot < 2 && !cs.ended; slot++)
		if (pg_row(&s, &cs, msg + off, len - off, &id, &x, &xcap, 2, (size_t)slot, &got, &err) != OPS_OK)
			break;
out:
	free(cs.text);
	free(x);
	free(msg);
	pthread_mutex_destroy(&s.dim_mu);
	return 0;
}
