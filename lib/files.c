/*
 * files.c: whole-file reads of small non-secret files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

char *
file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	FILE *fp;
	char *buf = NULL;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "could not open \"%s\": %s", path,
		    strerror(errno));
		return NULL;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "out of memory reading \"%s\"", path);
		goto out;
	}
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "could not read \"%s\": %s", path,
		    strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	if (n > max) {
		snprintf(err, errlen, "\"%s\" is larger than %zu bytes", path, max);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
out:
	fclose(fp);
	return buf;
}
