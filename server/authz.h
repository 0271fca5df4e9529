/*
 * authz.h: the access control rules in force, over lib/acl and the
 * acls.conf file, reloaded without a restart: on SIGHUP (authz_reload)
 * and when the file changes (a thread compares its modification time,
 * inode and size every check_ms).  A file that does not load keeps the
 * rules in force and the reason is logged.  Thread-safe: requests hold
 * the rules for the length of one check.  What a request needs checked,
 * and in which order, is service.c's; the rule language is lib/acl's.
 */
#ifndef KW_AUTHZ_H
#define KW_AUTHZ_H

#include <stddef.h>
#include "../lib/acl.h"

struct authz;

/* Load path (NULL with the reason in err) and start watching it. */
struct authz *authz_new(const char *path, int check_ms, char *err,
	    size_t errlen);
/* Stop watching and free; NULL is a no-op. */
void	authz_free(struct authz *az);
/* Load the file again now; 0 when the new rules are in force, -1 when
 * the old ones stay (logged either way). */
int	authz_reload(struct authz *az);
/* The rules in force, held until authz_release: never NULL. */
const struct acls *authz_hold(struct authz *az);
void	authz_release(struct authz *az);

#endif
