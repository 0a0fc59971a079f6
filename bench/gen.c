/* gen.c: deterministic data generator for bench/run (ID-sync files, AAM trait files, small trait files). */
/*
 * gen idsync N            > adobe_id_0_478_TS.sync   N rows  UUID38<TAB>partner-id   (partner IDs p0..pN-1)
 * gen traits L M          > ftp_dpm_478_TS.sync      L lines partner-id<TAB>d_sid=..,..  (1 to 10 traits);
 *                                                    80% of lines use a partner ID of an N=M ID-sync file, 20% an ID
 *                                                    that is in no map; every line has a distinct ID
 * gen lookups L M        > ftp_dpm_478_TS.sync      L lines partner-id<TAB>d_sid=N: like traits, but one trait per
 *                                                    line, so that the ID lookup dominates the work
 * gen small C M DIR [TS0]                            C files of about 1 KB in DIR (ftp_dpm_478_<TS0+j>.sync), IDs from
 *                                                    an M-row ID-sync map, 80% matched
 * Everything is a pure function of the arguments (no seed, no clock), so two runs give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x) { /* splitmix64 finaliser: a bijection on 64 bits */
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* partner ID of map row i: 'p' + 20 hex digits, distinct for distinct i (mix is a bijection) */
static int pid(char *o, uint64_t i) { return sprintf(o, "p%016llx%04x", (unsigned long long)mix(i), (unsigned)(mix(i ^ 0x5555) & 0xffff)); }
/* an ID that is in no map: prefix 'x' */
static int xid(char *o, uint64_t i) { return sprintf(o, "x%016llx%04x", (unsigned long long)mix(i ^ 0xabcdef), (unsigned)(i & 0xffff)); }

static int uuid38(char *o, uint64_t i) { /* 38 decimal digits, first not 0 */
    uint64_t a = mix(i ^ 0x1234567ULL), b = mix(a);
    o[0] = (char)('1' + a % 9);
    a /= 9;
    for (int k = 1; k < 19; k++, a /= 10) o[k] = (char)('0' + a % 10);
    for (int k = 19; k < 38; k++, b /= 10) o[k] = (char)('0' + b % 10);
    o[38] = 0;
    return 38;
}

static int traits(char *o, uint64_t u) {
    int n = 0, k = 1 + (int)((u >> 8) % 10);
    for (int t = 0; t < k; t++) {
        uint64_t s = 100000 + mix(u + (uint64_t)t * 7919) % 9900000;
        n += sprintf(o + n, "%sd_sid=%llu", t ? "," : "", (unsigned long long)s);
    }
    return n;
}

/* trait line i of an L-line file against an M-row map */
static int trait_line(char *o, uint64_t i, uint64_t L, uint64_t M) {
    uint64_t u = mix(i ^ 0x7777777ULL);
    int n = (u % 5 == 0) ? xid(o, i) : pid(o, (uint64_t)((unsigned __int128)i * M / L));
    o[n++] = '\t';
    n += traits(o + n, u);
    o[n++] = '\n';
    return n;
}

/* line i of an L-line lookup file: the IDs of trait_line, one trait each */
static int lookup_line(char *o, uint64_t i, uint64_t L, uint64_t M) {
    uint64_t u = mix(i ^ 0x7777777ULL);
    int n = (u % 5 == 0) ? xid(o, i) : pid(o, (uint64_t)((unsigned __int128)i * M / L));
    n += sprintf(o + n, "\td_sid=%llu\n", (unsigned long long)(100000 + mix(u) % 9900000));
    return n;
}

int main(int argc, char **argv) {
    static char buf[1 << 16];
    if (argc < 2) goto usage;
    if (!strcmp(argv[1], "idsync") && argc == 3) {
        uint64_t N = strtoull(argv[2], 0, 10);
        for (uint64_t i = 0; i < N; i++) {
            char u[40], p[32];
            uuid38(u, i);
            pid(p, i);
            printf("%s\t%s\n", u, p);
        }
        return fflush(stdout) ? 1 : 0;
    }
    if (!strcmp(argv[1], "traits") && argc == 4) {
        uint64_t L = strtoull(argv[2], 0, 10), M = strtoull(argv[3], 0, 10);
        for (uint64_t i = 0; i < L; i++) {
            int n = trait_line(buf, i, L, M);
            fwrite(buf, 1, (size_t)n, stdout);
        }
        return fflush(stdout) ? 1 : 0;
    }
    if (!strcmp(argv[1], "lookups") && argc == 4) {
        uint64_t L = strtoull(argv[2], 0, 10), M = strtoull(argv[3], 0, 10);
        for (uint64_t i = 0; i < L; i++) {
            int n = lookup_line(buf, i, L, M);
            fwrite(buf, 1, (size_t)n, stdout);
        }
        return fflush(stdout) ? 1 : 0;
    }
    if (!strcmp(argv[1], "small") && (argc == 5 || argc == 6)) {
        uint64_t C = strtoull(argv[2], 0, 10), M = strtoull(argv[3], 0, 10);
        uint64_t ts0 = argc == 6 ? strtoull(argv[5], 0, 10) : 1600000000ULL;
        for (uint64_t j = 0; j < C; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/ftp_dpm_478_%llu.sync", argv[4], (unsigned long long)(ts0 + j));
            FILE *f = fopen(path, "w");
            if (!f) { perror(path); return 1; }
            size_t total = 0;
            for (uint64_t l = 0; total < 1000; l++) {
                uint64_t u = mix(j * 1000003ULL + l);
                int n = (u % 5 == 0) ? xid(buf, j * 100 + l) : pid(buf, mix(u) % M);
                buf[n++] = '\t';
                n += traits(buf + n, u);
                buf[n++] = '\n';
                fwrite(buf, 1, (size_t)n, f);
                total += (size_t)n;
            }
            if (fclose(f)) { perror(path); return 1; }
        }
        return 0;
    }
usage:
    fprintf(stderr, "usage: gen idsync N | gen traits LINES MAPROWS | gen lookups LINES MAPROWS | gen small COUNT MAPROWS DIR [TS0]\n");
    return 2;
}
