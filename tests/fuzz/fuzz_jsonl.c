/* fuzz_jsonl.c: libFuzzer harness: JSON Lines files and their format options through the jsonl plugin via the host API. */
#include "fuzz_host.h"

/* Input: a header line "NAME[<TAB>KEY=VALUE]...", then the file content (fuzz_host.h). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_feed_plugin(fuzz_entry_jsonl(), data, size);
}
