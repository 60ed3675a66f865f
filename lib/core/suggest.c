/*
 * Near-miss suggestions.  Kept apart so that the front end, task parsing and
 * configuration all suggest the same way; this module knows no names itself.
 */
#include <string.h>

#include "opsmaint/suggest.h"

#define MAX_WORD 64

int ops_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	int d[MAX_WORD][MAX_WORD];

	if (la >= MAX_WORD || lb >= MAX_WORD)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int cost = a[i - 1] != b[j - 1];
			int best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *ops_suggest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	int best_d = 3;
	size_t i, wl = strlen(word);

	for (i = 0; candidates && candidates[i]; i++) {
		int d = ops_edit_distance(word, candidates[i]);

		/* "maint" for "maintain": typing less is also a near miss. */
		if (d >= best_d && wl >= 3 && strncmp(candidates[i], word, wl) == 0)
			d = 2;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best;
}
