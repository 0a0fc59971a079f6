/* fuzz_aam.c: libFuzzer harness: rows of AAM trait files (ftp_dpm_...) through the aam plugin via the host API. */
#include "fuzz_host.h"

/* Input: a header line "NAME[<TAB>KEY=VALUE]...", then the file content (fuzz_host.h). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_feed_plugin(fuzz_entry_aam(), data, size);
}
