/*
 * config.h: keyward.conf, an INI file described by one settings table.
 *
 * The table (config.c) gives every setting its section, name, type,
 * default, bounds, whether SIGHUP may change it, and its help text; the
 * same table drives parsing, `keyward-server -n` and the documentation.
 * Relative paths are resolved against the directory of the config file.
 * Unknown sections or keys, bad values and out-of-bounds numbers are
 * errors reported with file and line.
 */
#ifndef KW_CONFIG_H
#define KW_CONFIG_H

#include <stdio.h>
#include <stddef.h>
#include "kwerr.h"

enum auth_mode { AUTH_MTLS = 0, AUTH_PSEUDO };
/* Which part of a verified client certificate names the client. */
enum auth_identity { IDENT_CN = 0, IDENT_SAN_DNS, IDENT_SAN_URI };

struct kw_config {
	/* [node] */
	char	*node_name;
	char	*listen;		/* "ADDR:PORT" */
	char	*peer_url;		/* may be empty */
	char	*peer_name;		/* the peer's node.name */
	char	*url;			/* this node's URL, may be empty */
	/* [tls] */
	char	*tls_cert_file;
	char	*tls_key_file;
	char	*tls_client_ca_file;	/* may be empty unless auth = mtls */
	char	*tls_crl_file;		/* may be empty: no CRL */
	char	*tls_priorities;
	/* [auth] */
	int	 auth_mode;		/* enum auth_mode */
	int	 auth_identity;		/* enum auth_identity */
	char	*cookie_secret_file;	/* hadoop.auth signing secret */
	int	 cookie_ttl_s;
	/* [acl] */
	char	*acl_file;
	int	 acl_check_interval_ms;
	/* [audit] */
	char	*audit_file;		/* may be empty: no audit file */
	int	 audit_max_bytes;
	int	 audit_keep;
	int	 audit_stderr;		/* 0 no, 1 yes */
	int	 audit_aggregate_ms;
	/* [db] */
	char	*db_local;		/* libpq conninfo */
	char	*db_peer;		/* libpq conninfo, may be empty */
	char	*db_password_file;	/* may be empty */
	char	*db_admin;		/* libpq conninfo, may be empty */
	int	 db_pool_size;
	int	 db_connect_timeout_s;
	int	 commit_deadline_ms;
	int	 monitor_interval_ms;
	int	 probe_timeout_ms;
	int	 standby_stale_ms;
	/* [keys] */
	char	*master_key_file;
	char	*passphrase_file;	/* may be empty */
	char	*hsm_module;		/* empty: no PKCS#11 master key */
	char	*hsm_token_label;
	char	*hsm_key_label;
	char	*hsm_pin_file;
	int	 rewrap_batch;		/* versions a rewrap batch moves */
	int	 rewrap_pause_ms;	/* pause between rewrap batches */
	int	 cache_ttl_ms;		/* current-version cache lifetime */
	int	 cache_confirm_ms;	/* staleness bound of the cache */
	/* [limits] */
	int	 max_body_bytes;
	int	 max_num_keys;		/* generate num_keys bound */
	int	 max_batch;		/* reencrypt batch bound */
	int	 request_timeout_s;
	int	 max_connections;
	int	 max_connections_per_ip;
	int	 max_header_bytes;
	/* [log] */
	char	*log_level;
	/* [metrics] */
	char	*metrics_listen;	/* "ADDR:PORT", or empty: off */
	/* [kmip] */
	char	*kmip_listen;		/* "ADDR:PORT", or empty: off */
	int	 kmip_max_message_bytes;

	char	*path;			/* the file this came from */
	char	*dir;			/* its directory */
};

/*
 * Parse path into a new config with defaults for what the file leaves
 * out.  On error returns NULL and writes a message ("FILE:LINE: ...") to
 * err.  Free with config_free.
 */
struct kw_config *config_load(const char *path, char *err, size_t errlen);
void	config_free(struct kw_config *cfg);
/* Parse "HOST:PORT" (or "[V6]:PORT") from cfg->listen; 0 or -1. */
int	config_listen_addr(const struct kw_config *cfg, char *host,
	    size_t hostlen, int *port) WUR;
/* The same for any such text s (metrics.listen, say). */
int	config_parse_addr(const char *s, char *host, size_t hostlen,
	    int *port) WUR;
/* Print every setting with its effective value (as `-n -v` shows it). */
void	config_dump(FILE *fp, const struct kw_config *cfg);
/* Print the settings table: section, name, type, default, bounds, help. */
void	config_help(FILE *fp);
/* Print a fully commented keyward.conf with every default and its help. */
void	config_example(FILE *fp);
/*
 * For SIGHUP: how many settings differ between old and new although only
 * a restart can apply them; their names, comma-separated, go to names.
 */
int	config_restart_needed(const struct kw_config *old,
	    const struct kw_config *new, char *names, size_t len);

#endif
