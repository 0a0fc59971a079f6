/* conf_remote.c: parse a partner's remote = { ... } (SFTP inbox) and remote_outbox = { ... } (SFTP push target). */
#include "config.h"
#include "conf_loader.h"
#include "strutil.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const inbox_keys[] = {"host", "port", "user", "key", "passphrase_file", "password_file",
                                         "known_hosts", "path", "poll", "settle", "after", "move_to",
                                         "max_sessions", "timeout", "claim_timeout", NULL};
static const char *const outbox_keys[] = {"host", "port", "user", "key", "passphrase_file", "password_file",
                                          "known_hosts", "path", "max_sessions", "timeout", NULL};

void cf_free_remote(bd_remote *r)
{
    if (!r)
        return;
    free(r->host);
    free(r->user);
    free(r->key);
    free(r->passphrase_file);
    free(r->password_file);
    free(r->known_hosts);
    free(r->path);
    free(r->move_to);
    free(r->source);
    free(r);
}

static int dup_string(loader *ld, const config_setting_t *g, const char *key, char **out, int required,
                      const char *what)
{
    const char *v = NULL;
    if (cf_string(ld, g, key, &v) < 0)
        return -1;
    if (!v || !*v) {
        if (!required)
            return 0;
        cf_error(ld, g, "%s needs '%s'", what, key);
        return -1;
    }
    *out = strdup(v);
    return *out ? 0 : -1;
}

static int load_after(loader *ld, const config_setting_t *g, bd_remote *r)
{
    const char *after = NULL;
    if (cf_string(ld, g, "after", &after) < 0 || dup_string(ld, g, "move_to", &r->move_to, 0, "") < 0)
        return -1;
    if (!after || strcmp(after, "delete") == 0)
        r->after_move = 0;
    else if (strcmp(after, "move") == 0)
        r->after_move = 1;
    else {
        cf_error(ld, config_setting_get_member(g, "after"), "'after' must be \"delete\" or \"move\", not \"%s\"",
                 after);
        return -1;
    }
    if (r->after_move != (r->move_to != NULL)) {
        cf_error(ld, g, r->after_move ? "after = \"move\" needs 'move_to' (a remote folder)"
                                      : "'move_to' is only used with after = \"move\"");
        return -1;
    }
    return 0;
}

static int load_auth(loader *ld, const config_setting_t *g, bd_remote *r, const char *what)
{
    if (cf_path(ld, g, "key", &r->key, NULL) < 0 || cf_path(ld, g, "passphrase_file", &r->passphrase_file, NULL) < 0 ||
        cf_path(ld, g, "password_file", &r->password_file, NULL) < 0 ||
        cf_path(ld, g, "known_hosts", &r->known_hosts, NULL) < 0)
        return -1;
    if (!r->known_hosts) {
        cf_error(ld, g, "%s needs 'known_hosts': host keys are always checked, never trusted on first use", what);
        return -1;
    }
    if (!r->key && !r->password_file) {
        cf_error(ld, g, "%s needs 'key' (a private key file) or 'password_file'", what);
        return -1;
    }
    if (r->passphrase_file && !r->key) {
        cf_error(ld, g, "'passphrase_file' is only used with 'key'");
        return -1;
    }
    return 0;
}

static int load_numbers(loader *ld, const config_setting_t *g, bd_remote *r)
{
    double port = 22, poll = 30, settle = 10, sessions = 2, timeout = 30, claim = 6 * 3600;
    if (cf_number(ld, g, "port", &port, 1, 65535) < 0 || cf_number(ld, g, "poll", &poll, 0.1, 86400) < 0 ||
        cf_number(ld, g, "settle", &settle, 0, 86400) < 0 || cf_number(ld, g, "max_sessions", &sessions, 1, 64) < 0 ||
        cf_number(ld, g, "timeout", &timeout, 1, 3600) < 0 ||
        cf_number(ld, g, "claim_timeout", &claim, 60, 30 * 86400) < 0)
        return -1;
    r->port = (int)port;
    r->poll = poll;
    r->settle = settle;
    r->max_sessions = (int)sessions;
    r->timeout = timeout;
    r->claim_timeout = claim;
    return 0;
}

static bd_remote *load_remote(loader *ld, const config_setting_t *g, const char *what, int inbox)
{
    if (!config_setting_is_group(g)) {
        cf_error(ld, g, "'%s' must be a group: %s = { host = \"...\"; path = \"...\"; ... }", what, what);
        return NULL;
    }
    cf_unknown_keys(ld, g, inbox ? inbox_keys : outbox_keys, what);
    bd_remote *r = calloc(1, sizeof *r);
    char src[PATH_MAX + 32];
    snprintf(src, sizeof src, "%s:%d", config_setting_source_file(g) ? config_setting_source_file(g) : ld->path,
             (int)config_setting_source_line(g));
    if (!r || !(r->source = strdup(src)) || dup_string(ld, g, "host", &r->host, 1, what) < 0 ||
        dup_string(ld, g, "user", &r->user, 1, what) < 0 || dup_string(ld, g, "path", &r->path, 1, what) < 0 ||
        load_numbers(ld, g, r) < 0 || load_auth(ld, g, r, what) < 0 || (inbox && load_after(ld, g, r) < 0)) {
        cf_free_remote(r);
        return NULL;
    }
    if (r->move_to && r->move_to[0] != '/') {
        cf_error(ld, g, "%s: 'move_to' must be an absolute remote path, not \"%s\"", what, r->move_to);
        cf_free_remote(r);
        return NULL;
    }
    if (r->path[0] != '/') {
        cf_error(ld, g, "%s: 'path' must be an absolute remote path, not \"%s\"", what, r->path);
        cf_free_remote(r);
        return NULL;
    }
    return r;
}

int cf_load_remotes(loader *ld, const config_setting_t *ps, bd_partner *p)
{
    config_setting_t *g;
    if ((g = config_setting_get_member(ps, "remote")) && !(p->remote = load_remote(ld, g, "remote", 1)))
        return -1;
    if ((g = config_setting_get_member(ps, "remote_outbox")) &&
        !(p->remote_outbox = load_remote(ld, g, "remote_outbox", 0)))
        return -1;
    return 0;
}
