/* fuzz_config.c: libFuzzer harness: bytes as a batchdrop.conf through bd_config_load() and bd_config_free() (leaks fail it). */
#include "config.h"
#include "conf.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64], path[96];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

/* A private folder ($TMPDIR, else /dev/shm, else /tmp): relative paths in the config resolve against it. */
static int setup(void)
{
    if (dir[0])
        return 0;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) >= 40)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* tmpfs: one file write per input */
    snprintf(dir, sizeof dir, "%s/bd-fuzz-config-XXXXXX", tmp);
    if (!mkdtemp(dir)) {
        perror("fuzz_config: mkdtemp");
        abort();
    }
    snprintf(path, sizeof path, "%s/batchdrop.conf", dir);
    atexit(remove_dir);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* @include would read other files (/dev/stdin, /proc/...): not the loader under test. */
    if (size > 65536 || memmem(data, size, "@include", 8))
        return 0;
    setup();
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror("fuzz_config: write");
        abort();
    }
    char *errors = NULL;
    bd_config *cfg = bd_config_load(path, &errors);
    /* conf.h: NULL with one "FILE:LINE: message" per line, or a config and no errors. */
    if (!cfg && (!errors || !*errors || errors[strlen(errors) - 1] != '\n')) {
        fprintf(stderr, "fuzz_config: refused without an error text: '%s'\n", errors ? errors : "(NULL)");
        abort();
    }
    if (cfg && errors) {
        fprintf(stderr, "fuzz_config: loaded but errors set: %s\n", errors);
        abort();
    }
    if (cfg)
        for (size_t i = 0; i < cfg->npartners; i++)
            bd_config_partner(cfg, cfg->partners[i].name);
    bd_config_free(cfg);
    free(errors);
    return 0;
}
