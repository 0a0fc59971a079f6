/* fuzz_host.h: shared by the plugin fuzz harnesses: input layout, the plugins linked in, a feed through plugin_harness. */
#ifndef BD_FUZZ_HOST_H
#define BD_FUZZ_HOST_H
#include <batchdrop/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* build.sh compiles each plugin's sources into the harness and renames its batchdrop_plugin_entry
 * (-Dbatchdrop_plugin_entry=fuzz_entry_<plugin>), so that several plugins fit in one program. */
const bd_plugin *fuzz_entry_aam(void);
const bd_plugin *fuzz_entry_idsync(void);
const bd_plugin *fuzz_entry_delimited(void);
const bd_plugin *fuzz_entry_jsonl(void);

/*
 * Input of a plugin harness: one header line, then the decoded file content.
 *
 *   NAME [TAB KEY=VALUE]... LF
 *   content...
 *
 * NAME is the file name handed to parse_name(); each KEY=VALUE becomes a format option
 * (what format_options = { ... } gives the plugin).  The pseudo-option @budget=N makes
 * emit_record/emit_idsync answer -1 (stop) after N accepted emits, like a host abandoning
 * the file.  Lines are fed as the daemon feeds them (plugin_harness.c: LF split, CR
 * stripped, blank lines skipped, each line in an exactly-sized allocation).
 *
 * Runs parse_name/open/line.../finish/close; a breach of the plugin.h contract that the
 * recording host notices (wrong line numbers, malformed items, ...) aborts, so that
 * libFuzzer keeps the input.  Always returns 0.
 */
int fuzz_feed_plugin(const bd_plugin *p, const uint8_t *data, size_t size);

#endif
