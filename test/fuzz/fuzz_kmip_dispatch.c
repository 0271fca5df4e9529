/*
 * fuzz_kmip_dispatch.c: libFuzzer target for the KMIP request dispatcher
 * (kmip/dispatch.c): a message from an authenticated client goes through
 * kmip_handle as the listener hands it over, with the real key service
 * (server/service.c: ACLs from a file, audit) in front.
 *
 * Two services, the first input byte's bit 2 picking one:
 *
 * - denying: the ACL file grants the fuzzing client no operation, so
 *   every key operation is refused by svc_run before any step that
 *   reads the database (dispatch.c loads an object only for callers the
 *   operation ACL lets through): parsing, batch handling, the uid read
 *   up front, refusals, audit and response building run for every
 *   input, and DiscoverVersions and Query run in full.
 * - granting: every operation and key ACL but CREATE and
 *   SET_KEY_MATERIAL (a new object's first store step wraps it under
 *   the master keys, which need a database), over a key store whose
 *   database is a socket that does not exist: the payloads past the
 *   ACLs are read (Locate's attributes and match, each operation's
 *   prepare step, write admission on a single node) until the first
 *   database call fails fast as "key store unavailable".
 *
 * Bit 0 picks the identity (none, or "fuzz") and bit 1 whether the
 * message is announced as a framing error.  Every answer must be one
 * decodable Response Message under the size cap; no answer (NULL) only
 * for memory.
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
#include "db/db.h"
#include "lib/config.h"
#include "server/audit.h"
#include "server/authz.h"
#include "server/keystore.h"
#include "server/service.h"
#include "lib/log.h"

#define MAX_MESSAGE	(64 * 1024)

/* Every operation and key ACL but the two that make new objects. */
static const char grant_acls[] =
    "hadoop.kms.acl.CREATE = nobody\n"
    "hadoop.kms.acl.DELETE = fuzz\n"
    "hadoop.kms.acl.ROLLOVER = fuzz\n"
    "hadoop.kms.acl.GET = fuzz\n"
    "hadoop.kms.acl.GET_KEYS = fuzz\n"
    "hadoop.kms.acl.GET_METADATA = fuzz\n"
    "hadoop.kms.acl.GENERATE_EEK = fuzz\n"
    "hadoop.kms.acl.DECRYPT_EEK = fuzz\n"
    "default.key.acl.ALL = fuzz\n";

static struct svc deny_svc, grant_svc;
static struct kmip_ctx *deny_ctx, *grant_ctx;
static struct kw_config single_node;	/* no db.peer: writes admitted */
static char no_peer[1];

/* The rules of text, through a file as the server reads them. */
static struct authz *
rules(const char *text)
{
	char path[] = "/tmp/fuzz-kmip-acl-XXXXXX", err[256];
	struct authz *az;
	size_t n = strlen(text);
	int fd;

	FUZZ_CHECK((fd = mkstemp(path)) >= 0);
	FUZZ_CHECK(write(fd, text, n) == (ssize_t)n);
	close(fd);
	FUZZ_CHECK((az = authz_new(path, 0, err, sizeof(err))) != NULL);
	unlink(path);
	return az;
}

static void
setup(void)
{
	char err[256];
	struct audit_opts ao;
	struct db *db;

	log_init("fuzz_kmip_dispatch", LOG_LVL_ERR);
	memset(&ao, 0, sizeof(ao));
	ao.node = "fuzz";
	/* nobody may do anything */
	deny_svc.authz = rules("hadoop.kms.acl.CREATE = nobody\n");
	FUZZ_CHECK((deny_svc.audit = audit_open(&ao, err, sizeof(err))) !=
	    NULL);
	FUZZ_CHECK((deny_ctx = kmip_ctx_new(&deny_svc, MAX_MESSAGE)) != NULL);

	single_node.db_peer = no_peer;
	grant_svc.cfg = &single_node;
	grant_svc.authz = rules(grant_acls);
	FUZZ_CHECK((grant_svc.audit = audit_open(&ao, err, sizeof(err))) !=
	    NULL);
	FUZZ_CHECK((db = db_new("host=/nonexistent/keyward-fuzz dbname=none "
	    "user=none", NULL, NULL, 1, 1, 1000)) != NULL);
	FUZZ_CHECK((grant_svc.ks = ks_new(db, NULL, 0, err, sizeof(err))) !=
	    NULL);
	FUZZ_CHECK((grant_ctx = kmip_ctx_new(&grant_svc, MAX_MESSAGE)) !=
	    NULL);
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

	if (deny_ctx == NULL)
		setup();
	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 1)
		ci.identity = "fuzz";
	out = kmip_handle((mode & 4) ? grant_ctx : deny_ctx, &ci, data, size, (mode & 2) ?
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
