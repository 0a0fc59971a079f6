/* conf.h: batchdrop's configuration model, loaded and validated from a libconfig file. */
#ifndef BD_CONF_H
#define BD_CONF_H
#include <stddef.h>
#include <stdint.h>

typedef enum { BD_IDS_PARTNER = 0, BD_IDS_OURS = 1 } bd_ids_mode;
typedef enum { BD_OUT_PLAIN = 0, BD_OUT_ZSTD = 1 } bd_outbox_compress;

typedef struct bd_rule {
    char *key;   /* signal key, matched case-insensitively */
    char *value; /* signal value, matched exactly */
    int64_t segment;
} bd_rule;

typedef struct bd_option {
    char *key, *value;
} bd_option;

/* An SFTP endpoint: a partner's remote inbox (remote = {...}) or outbox (remote_outbox = {...}). */
typedef struct bd_remote {
    char *host;
    int port;
    char *user;
    char *key;             /* private key file (absolute), NULL when password auth only */
    char *passphrase_file; /* optional */
    char *password_file;   /* optional */
    char *known_hosts;     /* required: strict host-key checking */
    char *path;            /* remote folder */
    double poll;           /* inbox: seconds between listings */
    double settle;         /* inbox: size and mtime unchanged across listings this long */
    int after_move;        /* inbox: 1 = move to move_to after processing, 0 = delete */
    char *move_to;
    int max_sessions;      /* connections this agent opens to this host at once */
    double timeout;        /* deadline of every network operation */
    double claim_timeout;  /* inbox: another agent's claim older than this is recovered */
    char *source;          /* "file:line" */
} bd_remote;

/* receipt_mail = { to = [...]; from = "..."; }: mail the text receipt of every file. */
typedef struct bd_mail {
    char **to;
    size_t nto;
    char *from;           /* NULL: sendmail's default sender */
    char *subject_prefix; /* "[batchdrop]" */
} bd_mail;

/* Where the ID-match table lives: match_store = { type = ...; } */
typedef enum { BD_STORE_LMDB = 0, BD_STORE_REDIS = 1 } bd_store_type;

/* match_store = { type = "redis"; nodes = [...]; password_file = "..."; timeout = 2.0; key_prefix = "bd:"; } */
typedef struct bd_redis_store_conf {
    char **nodes; /* "host:port" seeds: a standalone server or any nodes of a cluster */
    size_t nnodes;
    char *password_file; /* NULL: no AUTH */
    char *password;      /* the file's first line, read at load (workers cannot read it after the user switch) */
    double timeout;      /* seconds: each connect and each reply */
    char *key_prefix;    /* "bd:" */
    long ttl_days;       /* match_ttl_days (top level): 0 = mappings never expire */
    char *source;        /* "file:line" of match_store */
} bd_redis_store_conf;

typedef struct bd_partner {
    char *name;
    char *inbox;    /* absolute path, NULL if the partner has no local inbox */
    double settle;  /* seconds a file must stay unchanged */
    char *format;   /* forced plugin name, NULL to choose by file name */
    bd_option *options;
    size_t noptions;
    char *options_source; /* "file:line" of format_options, for errors the plugin reports */
    bd_ids_mode ids;
    int64_t *segments; /* sorted; NULL = every numeric trait is accepted */
    size_t nsegments;
    bd_rule *rules;
    size_t nrules;
    long max_lines_per_user; /* 0 = unlimited */
    char *source;            /* "file:line" where the partner is defined */
    bd_remote *remote;        /* remote SFTP inbox, NULL if none */
    bd_remote *remote_outbox; /* push outbox files there, NULL if none */
    int remote_receipts;      /* push each receipt beside the outbox files */
    bd_mail *receipt_mail;    /* NULL: no mail */
} bd_partner;

/* The largest batch_files: the most small files of one partner that run in one worker as a batch, with one
 * group commit (dispatch.c). Each batch costs the commit's flushes (the outputs' sync, the journal, the
 * receipts, the folders); each file of a batch in flight holds about 60 KB of the supervisor's memory (its job). */
#define BD_BATCH_MAX 256

typedef struct bd_config {
    char *path; /* the config file, absolute */
    char *state_dir, *outbox, *receipts, *plugin_dir, *agent_id;
    int keep_archive;
    int match_index; /* keep the LMDB store's lookup index (match_index.h) */
    bd_outbox_compress outbox_compress;
    int outbox_zstd_level;
    double scan_interval;      /* periodic sweep of every inbox */
    double match_index_interval; /* run: least seconds between two looks at the lookup index */
    uint64_t match_index_min_entries; /* smaller stores keep no lookup index */
    double incomplete_timeout; /* a compressed file that stays truncated this long is rejected */
    double retry_interval;     /* back-off before retrying a failed file */
    uint64_t max_file_size, max_decoded_size, match_map_size;
    bd_store_type match_store; /* lmdb (default, under state_dir/match) or redis */
    bd_redis_store_conf redis; /* match_store type "redis" */
    size_t max_line_length;
    int log_level;
    int workers;                 /* worker processes (plugins never run in the supervisor) */
    int batch_files;             /* the most small files of a partner in one worker's batch (<= BD_BATCH_MAX) */
    double plugin_timeout;       /* wall-clock and CPU seconds a worker may spend on one file */
    uint64_t plugin_memory_limit; /* address-space limit of a worker (setrlimit RLIMIT_AS) */
    char *user;                  /* started as root: workers run as this user */
    uint64_t min_free_space;     /* no new claims while the outbox or state file system has less, 0 = off */
    char *status_file;           /* kept current by `run`, read by `batchdrop status` */
    char *metrics_file;          /* Prometheus text exposition, NULL = off */
    double metrics_interval;     /* seconds between metrics_file rewrites */
    char *sendmail;              /* receipt_mail: the sendmail program, run as `sendmail -t -i` */
    bd_partner *partners;
    size_t npartners;
} bd_config;

/* Load and validate. On failure returns NULL and *errors holds one
 * "FILE:LINE: message" per line (caller frees). */
bd_config *bd_config_load(const char *path, char **errors);
void bd_config_free(bd_config *cfg);
/* The built-in limits, for commands that run without a config file (validate, plugin-test). */
void bd_config_set_defaults(bd_config *cfg);
const bd_partner *bd_config_partner(const bd_config *cfg, const char *name);
const char *bd_partner_option(const bd_partner *p, const char *key);
int bd_partner_owns_segment(const bd_partner *p, int64_t segment);
/* "match_store" or "match_ttl_days" when the two configs' match stores differ (a restart is needed), else "" */
const char *bd_config_store_change(const bd_config *old, const bd_config *cfg);

#define BD_DEFAULT_CONFIG SYSCONFDIR "/batchdrop/batchdrop.conf"
#endif
