/* plugin_checks.h: TAP checks shared by the plugin unit tests (descriptor, patterns, one record, open errors); include after tap.h. */
#ifndef BD_PLUGIN_CHECKS_H
#define BD_PLUGIN_CHECKS_H
#include "plugin_harness.h"
#include "tap.h"
#include <fnmatch.h>
#include <string.h>

/* The i-th record of the last feed, NULL when there are fewer. */
static inline const ph_record *pc_record_at(const ph_fixture *fx, size_t i)
{
    return i < fx->host.nrecords ? &fx->host.records[i] : NULL;
}

static inline int pc_claimed(const bd_plugin *p, const char *name)
{
    for (const char *const *pat = p->patterns; *pat; pat++)
        if (fnmatch(*pat, name, 0) == 0)
            return 1;
    return 0;
}

/* Name, ABI, sizes, version and description; the names its patterns must claim and must leave. */
static inline void pc_check_descriptor(const bd_plugin *p, const char *name, const char *const *mine, size_t nmine,
                                       const char *const *others, size_t nothers)
{
    TAP_EQ_STR(p->name, name, "descriptor name");
    TAP_EQ_INT(p->abi_major, BD_PLUGIN_ABI_MAJOR, "ABI major");
    TAP_EQ_INT(p->abi_minor, BD_PLUGIN_ABI_MINOR, "ABI minor");
    TAP_EQ_INT(p->struct_size, sizeof(bd_plugin), "descriptor struct_size");
    TAP_OK(p->version && *p->version && p->description && *p->description, "version, description");
    for (size_t i = 0; i < nmine; i++)
        TAP_OK(pc_claimed(p, mine[i]), "pattern claims %s", mine[i]);
    for (size_t i = 0; i < nothers; i++)
        TAP_OK(!pc_claimed(p, others[i]), "pattern leaves %s", others[i]);
}

/* One line that must give one record with n items and no error. */
static inline const ph_record *pc_expect_record(ph_fixture *fx, const char *name, const char *text, size_t nitems,
                                                const char *what)
{
    int outcome = ph_fixture_feed(fx, name, text);
    TAP_EQ_INT(outcome, PH_DONE, "%s: done (%s)", what, fx->run.err);
    TAP_EQ_INT(fx->host.nerrors, 0, "%s: no line error (%s)", what, ph_reason_at(&fx->host, 0));
    TAP_EQ_INT(fx->host.nrecords, 1, "%s: one record", what);
    TAP_EQ_INT(fx->host.nrecords ? fx->host.records[0].nitems : 99, nitems, "%s: %zu items", what, nitems);
    return pc_record_at(fx, 0);
}

/* open() of a file holding `body` must fail with an err that contains every given part. */
static inline void pc_expect_open_error(ph_fixture *fx, const char *name, const char *body, const char *part1,
                                        const char *part2)
{
    int outcome = ph_fixture_feed(fx, name, body);
    TAP_EQ_INT(outcome, PH_OPEN_FAILED, "[%s] open fails", part1);
    TAP_OK(strstr(fx->run.err, part1) && (!part2 || strstr(fx->run.err, part2)), "[%s] err: %s", part1, fx->run.err);
    TAP_EQ_INT(fx->host.nrecords + fx->host.nerrors, 0, "[%s] nothing emitted", part1);
}
#endif
