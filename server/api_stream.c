/*
 * api_stream.c: a JSON array answered while it is made (kw_response's
 * stream), for lists too long to hold at once: key names, bulk metadata.
 * The text is exactly what api_send_json makes of the whole array (compact,
 * elements in order, "," between them), so a client cannot tell a
 * streamed answer from one built in memory.  Owns the text; the caller's
 * next step owns where the elements come from.
 */
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "errors.h"
#include "../lib/log.h"
#include "../lib/secbuf.h"

struct api_stream {
	json_t	*(*next)(void *arg, int *failed);
	void	(*free_arg)(void *arg);
	void	*arg;
	char	*pend;		/* text made, not yet sent */
	size_t	 plen, poff;
	size_t	 count;		/* elements made */
	int	 started, ended;
};

/* The next piece of text into s->pend: 0, or -1 (failed). */
static int
make_more(struct api_stream *s)
{
	json_t *j;
	char *t;
	int failed = 0;

	free(s->pend);
	s->pend = NULL;
	s->plen = s->poff = 0;
	if (!s->started) {
		s->started = 1;
		t = strdup("[");
	} else if ((j = s->next(s->arg, &failed)) == NULL) {
		if (failed)
			return -1;
		s->ended = 1;
		t = strdup("]");
	} else {
		t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		json_decref(j);
		if (t != NULL && s->count++ > 0) {
			/* "," then the element: one more byte in front */
			char *c = malloc(strlen(t) + 2);

			if (c != NULL) {
				c[0] = ',';
				strcpy(c + 1, t);
			}
			free(t);
			t = c;
		}
	}
	if (t == NULL) {
		log_warnx("out of memory while answering a list");
		return -1;
	}
	s->pend = t;
	s->plen = strlen(t);
	return 0;
}

static long
stream_read(void *arg, char *buf, size_t max)
{
	struct api_stream *s = arg;
	size_t n = 0, k;

	while (n < max) {
		if (s->poff < s->plen) {
			k = s->plen - s->poff;
			if (k > max - n)
				k = max - n;
			memcpy(buf + n, s->pend + s->poff, k);
			s->poff += k;
			n += k;
			continue;
		}
		if (s->ended)
			break;
		if (make_more(s) != 0)
			return -1;
	}
	return (long)n;
}

static void
stream_free(void *arg)
{
	struct api_stream *s = arg;

	s->free_arg(s->arg);
	free(s->pend);
	free(s);
}

void
api_send_stream(struct kw_response *resp, json_t *(*next)(void *, int *),
    void (*free_arg)(void *), void *arg)
{
	struct api_stream *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		free_arg(arg);
		resp_error(resp, KW_ENOMEM, "out of memory");
		return;
	}
	s->next = next;
	s->free_arg = free_arg;
	s->arg = arg;
	secure_free(resp->body);
	resp->body = NULL;
	resp->len = 0;
	resp->status = 200;
	resp->stream = stream_read;
	resp->stream_free = stream_free;
	resp->stream_arg = s;
}
