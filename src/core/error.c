#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

const char *sr_version(void) { return SOFTREG_VERSION; }

const char *sr_status_str(sr_status status)
{
    switch (status) {
    case SR_OK: return "ok";
    case SR_ERR_NOMEM: return "out of memory";
    case SR_ERR_IO: return "input/output error";
    case SR_ERR_FORMAT: return "bad file format";
    case SR_ERR_INVALID_ARG: return "invalid argument";
    case SR_ERR_TOO_BIG: return "too big";
    case SR_ERR_DIVERGED: return "diverged";
    case SR_ERR_MISMATCH: return "shape mismatch";
    case SR_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

sr_status sr_fail(sr_error *err, sr_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

int sr_mul_overflows(size_t a, size_t b, size_t *product)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 1;
    *product = a * b;
    return 0;
}
