/*
 * check_api_stream.c: server/api_stream.c, the JSON array answered while
 * it is made.  Read through kw_response's stream in pieces of every size
 * from one byte up, the text is exactly json_dumps of the whole array
 * (what api_send_json would have sent), for empty, short, awkward and
 * long arrays; a failing element cuts the answer off (-1); the element
 * source is freed once in every case.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/api.h"
#include "check_main.h"

/* The elements a case makes: JSON texts, parsed one by one. */
struct source {
	const char	**items;
	size_t		  n, i;
	size_t		  fail_at;	/* (size_t)-1: never */
	int		  freed;
};

static json_t *
next_item(void *arg, int *failed)
{
	struct source *s = arg;

	if (s->i == s->fail_at) {
		*failed = 1;
		return NULL;
	}
	if (s->i == s->n)
		return NULL;
	return json_loads(s->items[s->i++], JSON_DECODE_ANY, NULL);
}

static void
free_source(void *arg)
{
	((struct source *)arg)->freed++;
}

static const char *awkward[] = { "\"q\\\"uote\"", "\"back\\\\slash\"",
	"\"mid/slash\"", "\"\\u00fcn\\u00ef\"", "{}",
	"{\"name\":\"k\",\"versions\":2,\"description\":null}", "[1,2]" };
static const char *one[] = { "\"only\"" };

/* What api_send_json sends for the same elements. */
static char *
built(const char **items, size_t n)
{
	json_t *arr = json_array();
	char *t;
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(arr, json_loads(items[i], JSON_DECODE_ANY,
		    NULL));
	t = json_dumps(arr, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(arr);
	return t;
}

/* Read resp's stream max bytes at a time into a new string; *rc the last
 * return (0 at the end, -1 cut off). */
static char *
drain(struct kw_response *resp, size_t max, long *rc)
{
	char *out = NULL, *buf = malloc(max);
	size_t len = 0;
	long n;

	ck_assert_ptr_nonnull(buf);
	for (;;) {
		n = resp->stream(resp->stream_arg, buf, max);
		ck_assert_int_le(n, (long)max);
		if (n <= 0)
			break;
		out = realloc(out, len + (size_t)n + 1);
		memcpy(out + len, buf, (size_t)n);
		len += (size_t)n;
	}
	*rc = n;
	resp->stream_free(resp->stream_arg);
	free(buf);
	if (out == NULL)
		out = strdup("");
	else
		out[len] = '\0';
	return out;
}

static const size_t maxes[] = { 1, 2, 3, 7, 64, 32768 };

static void
check_case(const char **items, size_t n, size_t max)
{
	struct source src = { items, n, 0, (size_t)-1, 0 };
	struct kw_response resp;
	char *want = built(items, n), *got;
	long rc;

	memset(&resp, 0, sizeof(resp));
	api_send_stream(&resp, next_item, free_source, &src);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_ptr_null(resp.body);
	ck_assert_ptr_nonnull(resp.stream);
	got = drain(&resp, max, &rc);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(got, want);
	ck_assert_int_eq(src.freed, 1);
	free(got);
	free(want);
}

START_TEST(test_same_text)
{
	size_t max = maxes[_i];

	check_case(NULL, 0, max);
	check_case(one, 1, max);
	check_case(awkward, sizeof(awkward) / sizeof(awkward[0]), max);
}
END_TEST

START_TEST(test_long)
{
	enum { N = 2500 };
	static char text[N][16];
	const char *items[N];
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(text[i], sizeof(text[i]), "\"k-%zu\"", i);
		items[i] = text[i];
	}
	check_case(items, N, 4096);
	check_case(items, N, 5);
}
END_TEST

START_TEST(test_cut_off)
{
	struct source src = { awkward, 7, 0, 3, 0 };
	struct kw_response resp;
	char *got;
	long rc;

	memset(&resp, 0, sizeof(resp));
	api_send_stream(&resp, next_item, free_source, &src);
	got = drain(&resp, maxes[_i], &rc);
	ck_assert_int_eq(rc, -1);
	/* never a well-formed answer: the closing bracket never comes */
	ck_assert_ptr_null(json_loads(got, 0, NULL));
	ck_assert_int_eq(src.freed, 1);
	free(got);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("api_stream");
	TCase *tc = tcase_create("stream");
	int n = (int)(sizeof(maxes) / sizeof(maxes[0]));

	tcase_add_loop_test(tc, test_same_text, 0, n);
	tcase_add_test(tc, test_long);
	tcase_add_loop_test(tc, test_cut_off, 0, n);
	suite_add_tcase(s, tc);
	return check_run(s, CK_FORK_GETENV);
}
