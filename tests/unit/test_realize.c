/* test_realize.c: unit tests of segment realization: owned segments, rules, dedupe, add-wins-over-remove. */
#include "config.h"
#include "realize.h"
#include "tap.h"
#include <stdlib.h>
#include <string.h>

static bd_item trait(int kind, int64_t id)
{
    bd_item it = {.kind = kind, .trait = id};
    return it;
}

static bd_item signal_kv(const char *k, const char *v)
{
    bd_item it = {.kind = BD_ITEM_SIGNAL, .key = k, .key_len = strlen(k), .value = v, .value_len = strlen(v)};
    return it;
}

static void test_open_partner(void)
{
    bd_partner p = {.name = (char *)"acme"};
    bd_counters c = {0};
    bd_realized r = {0};
    bd_item items[] = {trait(BD_ITEM_ADD, 26), trait(BD_ITEM_ADD, 24), trait(BD_ITEM_ADD, 26),
                       trait(BD_ITEM_REMOVE, 28), trait(BD_ITEM_REMOVE, 24), signal_kv("product", "tablet")};
    TAP_EQ_INT(bd_realize(&p, items, 6, &r, &c), 0, "realize succeeds");
    TAP_EQ_INT(r.added.n, 2, "duplicates collapse: two added");
    TAP_EQ_INT(r.added.v[0], 24, "added sorted (24)");
    TAP_EQ_INT(r.added.v[1], 26, "added sorted (26)");
    TAP_EQ_INT(r.removed.n, 1, "24 added and removed on one line stays added");
    TAP_EQ_INT(r.removed.v[0], 28, "28 removed");
    TAP_EQ_INT(c.signals, 6, "every item is a signal");
    TAP_EQ_INT(c.unused_signals, 1, "a key/value without a rule is unused");
    TAP_EQ_INT(r.failed_validation, 0, "no segment list: every trait accepted");
    bd_realized_free(&r);
}

static void test_owned_segments_and_rules(void)
{
    int64_t segs[] = {24, 26, 30};
    bd_rule rules[] = {{(char *)"Product", (char *)"tablet", 5001}, {(char *)"ic", (char *)"52", 5002},
                       {(char *)"product", (char *)"tablet", 5003}};
    bd_partner p = {.name = (char *)"acme", .segments = segs, .nsegments = 3, .rules = rules, .nrules = 3};
    bd_counters c = {0};
    bd_realized r = {0};
    bd_item items[] = {trait(BD_ITEM_ADD, 24), trait(BD_ITEM_ADD, 99), trait(BD_ITEM_REMOVE, 77),
                       signal_kv("PRODUCT", "tablet"), signal_kv("product", "Tablet"), signal_kv("ic", "52")};
    TAP_EQ_INT(bd_realize(&p, items, 6, &r, &c), 0, "realize succeeds");
    TAP_EQ_INT(r.failed_validation, 2, "two traits the partner does not own");
    TAP_EQ_INT(r.first_failed, 99, "the first foreign trait is remembered");
    TAP_EQ_INT(c.segments_failed_validation, 2, "segments_failed_validation counted");
    TAP_EQ_INT(r.added.n, 4, "24 + three rule segments");
    TAP_EQ_INT(r.added.v[1], 5001, "keys match case-insensitively");
    TAP_EQ_INT(r.added.v[3], 5003, "one signal can match several rules");
    TAP_EQ_INT(c.unused_signals, 1, "values match case-sensitively: 'Tablet' is unused");
    TAP_EQ_INT(r.removed.n, 0, "a foreign removal is not output");
    bd_realized_free(&r);
}

static void test_many_items(void)
{
    bd_partner p = {.name = (char *)"acme"};
    bd_counters c = {0};
    bd_realized r = {0};
    enum { N = 5000 };
    bd_item *items = calloc(N, sizeof *items);
    for (int i = 0; i < N; i++)
        items[i] = trait(BD_ITEM_ADD, N - i);
    TAP_EQ_INT(bd_realize(&p, items, N, &r, &c), 0, "5000 items realize");
    TAP_EQ_INT(r.added.n, N, "all distinct kept");
    int sorted = 1;
    for (size_t i = 1; i < r.added.n; i++)
        sorted &= r.added.v[i - 1] < r.added.v[i];
    TAP_OK(sorted, "output sorted ascending");
    bd_realized_free(&r);
    free(items);
}

int main(void)
{
    test_open_partner();
    test_owned_segments_and_rules();
    test_many_items();
    return tap_done();
}
