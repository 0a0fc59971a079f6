/* fuzz_idsync.c: libFuzzer harness: AAM ID-sync files (adobe_id_/c2c_id_) through the aam-idsync plugin via the host API. */
#include "fuzz_host.h"

/* Input: a header line "NAME[<TAB>KEY=VALUE]...", then the file content (fuzz_host.h). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_feed_plugin(fuzz_entry_idsync(), data, size);
}
