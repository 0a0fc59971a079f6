/* test_idcount.c: unit tests of the bounded per-file ID counter: exact below its table size, sketches above. */
#include "config.h"
#include "idcount.h"
#include "sketch.h"
#include "tap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t add_id(bd_idcount *c, const char *prefix, unsigned long n)
{
    char id[64];
    int len = snprintf(id, sizeof id, "%s%lu", prefix, n);
    return bd_idcount_add(c, id, (size_t)len);
}

static void test_exact_below_the_table_size(void)
{
    bd_idcount *c = bd_idcount_new(1);
    TAP_OK(c != NULL, "a counter is made");
    int counts_ok = 1;
    for (unsigned long i = 0; i < 1000; i++)
        for (unsigned long k = 0; k <= i % 5; k++)
            counts_ok &= add_id(c, "u", i) == k + 1;
    TAP_OK(counts_ok, "every ID's count goes 1, 2, ... exactly");
    TAP_EQ_INT((long)bd_idcount_distinct(c), 1000, "1000 distinct IDs, exact");
    TAP_OK(bd_idcount_exact(c), "the count is exact");
    bd_idcount_free(c);
}

/* Past the table, the distinct count is a HyperLogLog estimate and per-ID counts never fall below the truth. */
static void test_bounded_past_the_table_size(void)
{
    bd_idcount *c = bd_idcount_new(1);
    const unsigned long n = 1000000;
    for (unsigned long i = 0; i < n; i++)
        add_id(c, "user-", i);
    TAP_OK(!bd_idcount_exact(c), "past the table the count is an estimate");
    double got = (double)bd_idcount_distinct(c), err = (got - (double)n) / (double)n;
    printf("# 1,000,000 distinct IDs estimated as %.0f (%+.2f%%)\n", got, 100 * err);
    TAP_OK(err > -0.03 && err < 0.03, "the estimate is within 3%% of 1,000,000");
    uint32_t last = 0;
    for (int k = 1; k <= 250; k++)
        last = add_id(c, "heavy-", 7);
    TAP_OK(last >= 250, "an ID first seen past the table is counted at least 250 times after 250 lines");
    uint32_t early = 0;
    for (int k = 0; k < 10; k++)
        early = add_id(c, "user-", 3);
    TAP_EQ_INT((long)early, 11, "an ID in the table stays exact (1 + 10)");
    unsigned over_cap = 0;
    for (unsigned long i = n; i < n + 100000; i++)
        over_cap += add_id(c, "late-", i) > 200;
    TAP_EQ_INT((long)over_cap, 0, "no one-line ID is taken for a user over a 200-line cap");
    bd_idcount_free(c);
}

/* Distinct-only counters make no sketch: IDs past the table count 1, the distinct estimate still works. */
static void test_distinct_only(void)
{
    bd_idcount *c = bd_idcount_new(0);
    const unsigned long n = 200000;
    for (unsigned long i = 0; i < n; i++)
        add_id(c, "d-", i);
    TAP_EQ_INT((long)add_id(c, "d-", n + 1), 1, "an ID past the table counts 1");
    double err = ((double)bd_idcount_distinct(c) - (double)(n + 1)) / (double)(n + 1);
    TAP_OK(!bd_idcount_exact(c) && err > -0.03 && err < 0.03, "200,001 distinct IDs estimated within 3%%");
    bd_idcount_free(c);
}

static void test_hll_small_and_empty(void)
{
    bd_hll *h = bd_hll_new();
    TAP_OK(h != NULL, "a HyperLogLog is made");
    TAP_EQ_INT((long)bd_hll_estimate(h), 0, "empty: 0");
    for (uint64_t i = 1; i <= 100; i++)
        bd_hll_add(h, bd_hash64(&i, sizeof i));
    long e = (long)bd_hll_estimate(h);
    TAP_OK(e >= 98 && e <= 102, "100 distinct hashes estimated within 2 (linear counting)");
    bd_hll_free(h);
}

int main(void)
{
    test_exact_below_the_table_size();
    test_bounded_past_the_table_size();
    test_distinct_only();
    test_hll_small_and_empty();
    return tap_done();
}
