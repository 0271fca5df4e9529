/*
 * fuzz_kmip_dispatch.c: libFuzzer target for the KMIP request dispatcher
 * (kmip/dispatch.c): a message from an authenticated client goes through
 * kmip_handle as the listener hands it over, with the real key service
 * (server/service.c: ACLs from a file, audit) in front.
 *
 * The ACL file grants the fuzzing client no operation, so every key
 * operation is refused by svc_run before any step that reads the
 * database (dispatch.c loads an object only for callers the operation
 * ACL lets through): parsing, batch handling, the uid read up front,
 * refusals, audit and response building run for every input, and
 * DiscoverVersions and Query run in full.  The first input byte picks
 * the identity (none, or "fuzz") and whether the message is announced
 * as a framing error.  Every answer must be one decodable Response
 * Message under the size cap; no answer (NULL) only for memory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "kmip/dispatch.h"
#include "kmip/tags.h"
#include "kmip/ttlv.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/service.h"
#include "lib/log.h"

#define MAX_MESSAGE	(64 * 1024)

static struct svc svc;
static struct kmip_ctx *ctx;

static void
setup(void)
{
	char path[] = "/tmp/fuzz-kmip-acl-XXXXXX", err[256];
	struct audit_opts ao;
	int fd;

	log_init("fuzz_kmip_dispatch", LOG_LVL_ERR);
	FUZZ_CHECK((fd = mkstemp(path)) >= 0);
	/* nobody may do anything */
	FUZZ_CHECK(write(fd, "hadoop.kms.acl.CREATE = nobody\n", 31) == 31);
	close(fd);
	FUZZ_CHECK((svc.authz = authz_new(path, 0, err, sizeof(err))) != NULL);
	unlink(path);
	memset(&ao, 0, sizeof(ao));
	ao.node = "fuzz";
	FUZZ_CHECK((svc.audit = audit_open(&ao, err, sizeof(err))) != NULL);
	FUZZ_CHECK((ctx = kmip_ctx_new(&svc, MAX_MESSAGE)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kmip_conn_info ci = { NULL, "no certificate", "fuzz", "f-1" };
	struct ttlv_limits lim = { MAX_MESSAGE * 2, TTLV_DEFAULT_MAX_DEPTH };
	struct ttlv *t = NULL;
	unsigned char *out;
	size_t outlen = 0;
	uint8_t mode;

	if (ctx == NULL)
		setup();
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 1)
		ci.identity = "fuzz";
	out = kmip_handle(ctx, &ci, data, size, (mode & 2) ?
	    "fuzzed framing error" : NULL, &outlen);
	if (out == NULL)
		return 0;
	FUZZ_CHECK(outlen >= TTLV_HEADER_LEN && outlen <= MAX_MESSAGE);
	FUZZ_CHECK(ttlv_decode(out, outlen, &lim, &t, NULL, 0) == TTLV_OK);
	FUZZ_CHECK(ttlv_tag(t) == KMIP_TAG_RESPONSE_MESSAGE);
	FUZZ_CHECK(ttlv_find(t, KMIP_TAG_RESPONSE_HEADER) != NULL);
	FUZZ_CHECK(ttlv_find(t, KMIP_TAG_BATCH_ITEM) != NULL);
	ttlv_free(t);
	free(out);
	return 0;
}
