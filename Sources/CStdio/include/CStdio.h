// C's standard output stream status, for Swift code in language mode 6 (which cannot read the C global
// `stdout` directly): flush it and report whether any write to it failed.
#ifndef CSTDIO_H
#define CSTDIO_H

/// Flushes stdout; returns 0 when everything written to it so far reached the file, else errno (or -1).
int rpt_stdout_flush_status(void);

#endif
