#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_parse_size(const char *opt, const char *text, size_t min, size_t max,
                   size_t *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-' || text[0] == '\0') {
        fprintf(stderr, "softreg: --%s: expected a whole number >= %zu, got \"%s\"\n",
                opt, min, text);
        return 0;
    }
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) {
        fprintf(stderr,
                "softreg: --%s: expected a whole number from %zu to %zu, got \"%s\"\n",
                opt, min, max, text);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

int cli_parse_double(const char *opt, const char *text, double min_exclusive,
                     double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end != '\0' || !isfinite(v) ||
        !(v > min_exclusive)) {
        fprintf(stderr, "softreg: --%s: expected a number greater than %g, got \"%s\"\n",
                opt, min_exclusive, text);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_parse_u32(const char *opt, const char *text, uint32_t *out)
{
    size_t v;
    if (!cli_parse_size(opt, text, 0, UINT32_MAX, &v))
        return 0;
    *out = (uint32_t)v;
    return 1;
}

void cli_error(const sr_error *err, const char *hint)
{
    fprintf(stderr, "softreg: %s\n", err->message);
    if (hint)
        fprintf(stderr, "hint: %s\n", hint);
}
