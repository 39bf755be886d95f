#include "CStdio.h"
#include <errno.h>
#include <stdio.h>

int rpt_stdout_flush_status(void) {
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) return errno != 0 ? errno : -1;
    return 0;
}
