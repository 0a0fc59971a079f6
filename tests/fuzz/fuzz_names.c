/* fuzz_names.c: libFuzzer harness: every plugin's parse_name() (the file-name grammars and plugins/common/name_parse.c). */
#include "fuzz_host.h"
#include <sanitizer/asan_interface.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SIZE 512

static void fail(const bd_plugin *p, const char *name, const char *what)
{
    fprintf(stderr, "fuzz_names: plugin %s, name '%s': %s\n", p->name, name, what);
    abort();
}

/* What a parsed name must look like (plugin.h). */
static void check_parsed(const bd_plugin *p, const char *name, const bd_file_info *info)
{
    int want_kind = p == fuzz_entry_idsync() ? BD_FILE_IDSYNC : BD_FILE_TRAITS;
    if (info->struct_size != sizeof *info)
        fail(p, name, "struct_size changed");
    if (info->kind != want_kind)
        fail(p, name, "kind is not the plugin's");
    if (info->mode != BD_MODE_SYNC && info->mode != BD_MODE_OVERWRITE)
        fail(p, name, "mode is neither sync nor overwrite");
    if (info->split < BD_NO_VALUE || info->timestamp < BD_NO_VALUE || info->target < BD_NO_VALUE)
        fail(p, name, "negative split, timestamp or target other than BD_NO_VALUE");
    if (info->kind == BD_FILE_IDSYNC) {
        if (info->ndpids < 2 || info->ndpids > BD_MAX_DPIDS)
            fail(p, name, "ID-sync ndpids out of 2..BD_MAX_DPIDS");
        if (info->dpid != info->dpids[0])
            fail(p, name, "ID-sync dpid is not the master DPID");
        for (int i = 0; i < info->ndpids; i++)
            if (info->dpids[i] < 0)
                fail(p, name, "negative DPID");
    }
}

static void parse_one(const bd_plugin *p, const char *name, size_t small_errlen)
{
    bd_file_info info, before;
    char err[ERR_SIZE];

    /* The normal call: a refusal leaves *info alone and names the file. */
    memset(&info, 0x5a, sizeof info);
    info.struct_size = sizeof info;
    before = info;
    memset(err, 0x5a, sizeof err);
    if (p->parse_name(name, &info, err, sizeof err) == 0) {
        check_parsed(p, name, &info);
    } else {
        if (!memchr(err, '\0', sizeof err))
            fail(p, name, "refusal reason is not NUL-terminated");
        if (strncmp(err, "file name", 9) != 0)
            fail(p, name, "refusal reason does not start with 'file name'");
        if (memcmp(&info, &before, sizeof info) != 0)
            fail(p, name, "a refused name changed *info");
    }

    /* A short, exactly-sized error buffer: ASan sees any write past it. */
    char *small = malloc(small_errlen);
    if (small) {
        info.struct_size = sizeof info;
        memset(small, 0x5a, small_errlen);
        if (p->parse_name(name, &info, small, small_errlen) < 0 && !memchr(small, '\0', small_errlen))
            fail(p, name, "reason not NUL-terminated in a short buffer");
        free(small);
    }

    /* An older host's smaller bd_file_info must be refused, not written past: the part it
     * lacks is poisoned, so ASan reports any access to it. */
    bd_file_info *old = malloc(sizeof *old);
    if (old) {
        size_t known = offsetof(bd_file_info, spare);
        old->struct_size = (uint32_t)known;
        ASAN_POISON_MEMORY_REGION((char *)old + known, sizeof *old - known);
        if (p->parse_name(name, old, err, sizeof err) == 0)
            fail(p, name, "accepted a bd_file_info smaller than its own");
        ASAN_UNPOISON_MEMORY_REGION((char *)old + known, sizeof *old - known);
        free(old);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *name = malloc(size + 1); /* exactly sized: reads past the name's NUL are caught */
    if (!name)
        return 0;
    memcpy(name, data, size);
    name[size] = '\0';
    size_t small_errlen = 1 + (size * 7) % 64;
    const bd_plugin *plugins[] = {fuzz_entry_aam(), fuzz_entry_idsync(), fuzz_entry_delimited(), fuzz_entry_jsonl()};
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++)
        parse_one(plugins[i], name, small_errlen);
    free(name);
    return 0;
}
