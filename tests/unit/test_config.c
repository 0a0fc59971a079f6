/* test_config.c: unit tests of config loading: defaults, relative paths, sizes, partner lists, errors with lines. */
#include "config.h"
#include "conf.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/bd-config-XXXXXX";

static const char *write_conf(const char *name, const char *body)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(body, f);
    fclose(f);
    return path;
}

static void test_good(void)
{
    char *errors = NULL;
    const char *path = write_conf("good.conf",
                                  "state_dir = \"state\";\n"
                                  "outbox = \"/abs/outbox\";\n"
                                  "max_file_size = \"2G\";\n"
                                  "max_decoded_size = 6442450944L;\n"
                                  "outbox_compress = \"zstd\";\n"
                                  "partners = ( { name = \"acme\"; inbox = \"in\"; settle = 2.5;\n"
                                  "  segments = [ 30, 24, 26 ];\n"
                                  "  rules = ( { key = \"product\"; value = \"tablet\"; segment = 5001; } );\n"
                                  "  format_options = { bare_values = \"traits\"; level = 3; };\n"
                                  "  ids = \"ours\"; max_lines_per_user = 0; } );\n");
    bd_config *cfg = bd_config_load(path, &errors);
    TAP_OK(cfg != NULL, "good config loads");
    if (!cfg) {
        printf("# %s", errors ? errors : "");
        free(errors);
        return;
    }
    char want[600];
    snprintf(want, sizeof want, "%s/state", dir);
    TAP_EQ_STR(cfg->state_dir, want, "relative path resolved against the config's folder");
    TAP_EQ_STR(cfg->outbox, "/abs/outbox", "absolute path kept");
    TAP_EQ_INT(cfg->max_file_size, 2LL << 30, "size string 2G");
    TAP_EQ_INT(cfg->max_decoded_size, 6442450944LL, "64-bit integer with L suffix");
    TAP_EQ_INT(cfg->max_line_length, 102400, "max_line_length default from the spec");
    TAP_EQ_INT(cfg->keep_archive, 1, "keep_archive defaults to true");
    TAP_EQ_INT(cfg->batch_files, 256, "batch_files defaults to 256");
    TAP_EQ_INT(cfg->outbox_compress, BD_OUT_ZSTD, "outbox_compress zstd");
    TAP_EQ_INT(cfg->npartners, 1, "one partner");
    const bd_partner *p = bd_config_partner(cfg, "acme");
    TAP_OK(p && p->settle == 2.5, "fractional settle");
    TAP_OK(p && p->nsegments == 3 && p->segments[0] == 24, "segments sorted");
    TAP_OK(p && bd_partner_owns_segment(p, 26) && !bd_partner_owns_segment(p, 25), "owns_segment");
    TAP_OK(p && p->nrules == 1 && p->rules[0].segment == 5001, "rule loaded");
    TAP_EQ_STR(p ? bd_partner_option(p, "bare_values") : NULL, "traits", "string format option");
    TAP_EQ_STR(p ? bd_partner_option(p, "level") : NULL, "3", "numeric format option as text");
    TAP_OK(p && p->ids == BD_IDS_OURS && p->max_lines_per_user == 0, "ids and cap");
    bd_config_free(cfg);
}

static void expect_error(const char *name, const char *body, const char *needle)
{
    char *errors = NULL;
    const char *path = write_conf(name, body);
    bd_config *cfg = bd_config_load(path, &errors);
    TAP_OK(cfg == NULL, "%s: refused", name);
    TAP_OK(errors && strstr(errors, needle), "%s: error mentions '%s'", name, needle);
    if (errors && !strstr(errors, needle))
        printf("# got: %s", errors);
    bd_config_free(cfg);
    free(errors);
}

static void test_remote_good(void)
{
    char *errors = NULL;
    const char *path = write_conf("remote.conf",
                                  "partners = ( { name = \"acme\";\n"
                                  "  remote = { host = \"sftp.example\"; user = \"bd\"; key = \"keys/id\";\n"
                                  "    known_hosts = \"kh\"; path = \"/out\"; after = \"move\"; move_to = \"/out/done\";\n"
                                  "    poll = 5; settle = 2; };\n"
                                  "  remote_outbox = { host = \"sftp.example\"; port = 2222; user = \"bd\";\n"
                                  "    password_file = \"pw\"; known_hosts = \"kh\"; path = \"/in\"; };\n"
                                  "  remote_receipts = true; } );\n");
    bd_config *cfg = bd_config_load(path, &errors);
    TAP_OK(cfg != NULL, "remote config loads");
    if (!cfg) {
        printf("# %s", errors ? errors : "");
        free(errors);
        return;
    }
    const bd_partner *p = &cfg->partners[0];
    char want[600];
    snprintf(want, sizeof want, "%s/keys/id", dir);
    TAP_OK(p->inbox == NULL && p->remote, "a partner with only a remote inbox");
    TAP_EQ_STR(p->remote->key, want, "key path resolved against the config folder");
    TAP_EQ_INT(p->remote->port, 22, "port defaults to 22");
    TAP_OK(p->remote->after_move && !strcmp(p->remote->move_to, "/out/done"), "after = move, move_to");
    TAP_OK(p->remote->poll == 5 && p->remote->settle == 2 && p->remote->timeout == 30, "poll, settle, timeout");
    TAP_EQ_INT(p->remote->max_sessions, 2, "max_sessions default");
    TAP_OK(p->remote_outbox && p->remote_outbox->port == 2222 && p->remote_outbox->password_file, "remote_outbox");
    TAP_EQ_INT(p->remote_receipts, 1, "remote_receipts");
    bd_config_free(cfg);
}

static void test_ops_good(void)
{
    char *errors = NULL;
    const char *path = write_conf("ops.conf",
                                  "state_dir = \"st\"; metrics_file = \"m/bd.prom\"; metrics_interval = 5;\n"
                                  "sendmail = \"/usr/bin/msmtp\";\n"
                                  "partners = ( { name = \"acme\"; inbox = \"in\";\n"
                                  "  receipt_mail = { to = [ \"ops@example.com\", \"root\" ]; from = \"bd@example.com\"; }; } );\n");
    bd_config *cfg = bd_config_load(path, &errors);
    TAP_OK(cfg != NULL, "operations settings load");
    if (!cfg) {
        printf("# %s", errors ? errors : "");
        free(errors);
        return;
    }
    char want[600];
    snprintf(want, sizeof want, "%s/st/status.json", dir);
    TAP_EQ_STR(cfg->status_file, want, "status_file defaults to state_dir/status.json");
    snprintf(want, sizeof want, "%s/m/bd.prom", dir);
    TAP_EQ_STR(cfg->metrics_file, want, "metrics_file resolved");
    TAP_OK(cfg->metrics_interval == 5, "metrics_interval");
    TAP_EQ_STR(cfg->sendmail, "/usr/bin/msmtp", "sendmail");
    const bd_partner *p = bd_config_partner(cfg, "acme");
    TAP_OK(p && p->receipt_mail && p->receipt_mail->nto == 2, "receipt_mail: two recipients");
    TAP_EQ_STR(p && p->receipt_mail ? p->receipt_mail->to[1] : NULL, "root", "a local user name is an address");
    TAP_EQ_STR(p && p->receipt_mail ? p->receipt_mail->subject_prefix : NULL, "[batchdrop]", "default subject prefix");
    bd_config_free(cfg);
    path = write_conf("ops_default.conf", "partners = ( );\n");
    cfg = bd_config_load(path, &errors);
    TAP_OK(cfg && !cfg->metrics_file && cfg->metrics_interval == 15, "metrics off by default, interval 15 s");
    TAP_EQ_STR(cfg ? cfg->sendmail : NULL, "/usr/sbin/sendmail", "sendmail default");
    bd_config_free(cfg);
    free(errors);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    test_good();
    expect_error("unknown2.conf", "stat_dir = \"x\";\n", "unknown2.conf:1: unknown setting 'stat_dir' (did you mean 'state_dir'?)");
    expect_error("type.conf", "\n\nkeep_archive = 1;\n", "type.conf:3: 'keep_archive' must be true or false");
    expect_error("compress.conf", "outbox_compress = \"lz4\";\n", "must be \"none\" or \"zstd\"");
    expect_error("batch0.conf", "batch_files = 0;\n", "batch0.conf:1: 'batch_files'");
    expect_error("batch257.conf", "batch_files = 257;\n", "batch257.conf:1: 'batch_files'");
    expect_error("noinbox.conf", "partners = ( { name = \"a\"; } );\n", "has neither an 'inbox'");
    expect_error("list.conf", "partners = { name = \"a\"; };\n", "'partners' must be a list");
    expect_error("segs.conf", "partners = ( { name = \"a\"; inbox = \"i\"; segments = [ -1 ]; } );\n",
                 "non-negative");
    expect_error("remote_nokh.conf",
                 "partners = ( { name = \"a\";\n  remote = { host = \"h\"; user = \"u\"; key = \"k\"; path = \"/in\"; }; } );\n",
                 "remote_nokh.conf:2: remote needs 'known_hosts'");
    expect_error("remote_move.conf",
                 "partners = ( { name = \"a\"; remote = { host = \"h\"; user = \"u\"; key = \"k\";\n"
                 "  known_hosts = \"kh\"; path = \"/in\"; after = \"move\"; }; } );\n",
                 "after = \"move\" needs 'move_to'");
    expect_error("remote_rel.conf",
                 "partners = ( { name = \"a\"; remote = { host = \"h\"; user = \"u\"; key = \"k\";\n"
                 "  known_hosts = \"kh\"; path = \"in\"; }; } );\n",
                 "'path' must be an absolute remote path");
    expect_error("remote_key.conf",
                 "partners = ( { name = \"a\"; remote = { host = \"h\"; user = \"u\"; hots = 1;\n"
                 "  known_hosts = \"kh\"; path = \"/in\"; }; } );\n",
                 "unknown setting 'hots' in remote (did you mean 'host'?)");
    expect_error("receipts_no_outbox.conf",
                 "partners = ( { name = \"a\"; inbox = \"i\"; remote_receipts = true; } );\n",
                 "'remote_receipts' needs a 'remote_outbox'");
    test_remote_good();
    test_ops_good();
    expect_error("mail_inject.conf",
                 "partners = ( { name = \"a\"; inbox = \"i\";\n  receipt_mail = { to = [ \"x@y\\nBcc: z@w\" ]; }; } );\n",
                 "mail_inject.conf:2: receipt_mail 'to': \"x@y?Bcc: z@w\" is not a mail address");
    expect_error("mail_noto.conf", "partners = ( { name = \"a\"; inbox = \"i\"; receipt_mail = { from = \"a@b\"; }; } );\n",
                 "receipt_mail needs 'to'");
    expect_error("mail_key.conf",
                 "partners = ( { name = \"a\"; inbox = \"i\"; receipt_mail = { to = [ \"a@b\" ]; form = \"a@b\"; }; } );\n",
                 "unknown setting 'form' in receipt_mail (did you mean 'from'?)");
    expect_error("mail_dash.conf", "partners = ( { name = \"a\"; inbox = \"i\"; receipt_mail = { to = [ \"-oQ/tmp\" ]; }; } );\n",
                 "is not a mail address");
    expect_error("metrics_iv.conf", "metrics_interval = 0;\n", "'metrics_interval' = 0 is out of range");
    char *errors = NULL;
    TAP_OK(bd_config_load("/nonexistent/batchdrop.conf", &errors) == NULL, "a missing file is refused");
    TAP_OK(errors && strstr(errors, "/nonexistent/batchdrop.conf:0: cannot read the file"), "and named");
    free(errors);
    return tap_done();
}
