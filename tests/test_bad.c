/* The catalogue of bad inputs (tests/bad/): every case of tests/bad/MANIFEST
 * is loaded through the library's loader for its kind and must give the
 * expected status, with a message that names the file and contains the
 * expected phrase, and leave the output untouched. One cmocka test per case,
 * so adding a case needs no C. The catalogue's directory may be moved with
 * SOFTREG_BAD_DIR (default tests/bad, the tests run from the top). */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include <zlib.h>

#include "io/model_file.h"
#include "data/npy.h"

typedef struct bad_case {
    char *file;   /* as written in the manifest, under the catalogue */
    char *kind;   /* LOADER or LOADER:key=value,... */
    char *status; /* SR_... */
    char *phrase; /* "-" for SR_OK */
    size_t line;  /* in the manifest, for messages */
    char name[160];
} bad_case;

static const char *bad_dir(void)
{
    const char *d = getenv("SOFTREG_BAD_DIR");
    return d && *d ? d : "tests/bad";
}

static const struct {
    const char *name;
    sr_status status;
} status_names[] = {
    {"SR_OK", SR_OK},
    {"SR_ERR_NOMEM", SR_ERR_NOMEM},
    {"SR_ERR_IO", SR_ERR_IO},
    {"SR_ERR_FORMAT", SR_ERR_FORMAT},
    {"SR_ERR_INVALID_ARG", SR_ERR_INVALID_ARG},
    {"SR_ERR_TOO_BIG", SR_ERR_TOO_BIG},
    {"SR_ERR_DIVERGED", SR_ERR_DIVERGED},
    {"SR_ERR_MISMATCH", SR_ERR_MISMATCH},
    {"SR_ERR_INTERRUPTED", SR_ERR_INTERRUPTED},
};

static int status_of(const char *name, sr_status *st)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (strcmp(status_names[i].name, name) == 0) {
            *st = status_names[i].status;
            return 1;
        }
    return 0;
}

static const char *status_name(sr_status st)
{
    for (size_t i = 0; i < sizeof status_names / sizeof status_names[0]; i++)
        if (status_names[i].status == st)
            return status_names[i].name;
    return "(unknown status)";
}

/* ---- The manifest ---------------------------------------------------------- */

static char *copy_str(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    assert_non_null(c);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

/* The next blank-separated field of *p, or NULL at the end of the line. */
static char *next_field(const char **p)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    const char *e = s;
    while (*e && *e != ' ' && *e != '\t')
        e++;
    *p = e;
    return e > s ? copy_str(s, (size_t)(e - s)) : NULL;
}

static bad_case *read_manifest(size_t *count)
{
    char path[512];
    snprintf(path, sizeof path, "%s/MANIFEST", bad_dir());
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "test_bad: cannot open %s: %s\n", path,
                strerror(errno));
        exit(1);
    }
    bad_case *cases = NULL;
    size_t n = 0, cap = 0, line_no = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            cases = realloc(cases, cap * sizeof *cases);
            assert_non_null(cases);
        }
        bad_case *c = &cases[n];
        memset(c, 0, sizeof *c);
        c->line = line_no;
        c->file = next_field(&p);
        c->kind = next_field(&p);
        c->status = next_field(&p);
        while (*p == ' ' || *p == '\t')
            p++;
        size_t plen = strlen(p);
        while (plen && (p[plen - 1] == ' ' || p[plen - 1] == '\t'))
            plen--;
        c->phrase = plen ? copy_str(p, plen) : NULL;
        if (!c->file || !c->kind || !c->status || !c->phrase) {
            fprintf(stderr, "%s:%zu: expected: file kind status phrase\n",
                    path, line_no);
            exit(1);
        }
        snprintf(c->name, sizeof c->name, "%s [%s]", c->file, c->kind);
        n++;
    }
    fclose(f);
    *count = n;
    return cases;
}

static void free_cases(bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cases[i].file);
        free(cases[i].kind);
        free(cases[i].status);
        free(cases[i].phrase);
    }
    free(cases);
}

/* ---- Running one case ------------------------------------------------------- */

typedef struct load_opts {
    char loader[32];
    sr_tabular_options tab;
    char label[96];
    size_t classes; /* 0 = no training step */
} load_opts;

static void parse_kind(const bad_case *c, load_opts *o)
{
    memset(o, 0, sizeof *o);
    o->tab = sr_tabular_options_default();
    const char *colon = strchr(c->kind, ':');
    size_t llen = colon ? (size_t)(colon - c->kind) : strlen(c->kind);
    if (llen >= sizeof o->loader)
        llen = sizeof o->loader - 1;
    memcpy(o->loader, c->kind, llen);
    const char *p = colon ? colon + 1 : NULL;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        char opt[96];
        snprintf(opt, sizeof opt, "%.*s", (int)n, p);
        if (strncmp(opt, "label=", 6) == 0) {
            snprintf(o->label, sizeof o->label, "%s", opt + 6);
            o->tab.label_col = o->label;
        } else if (strcmp(opt, "task=regression") == 0) {
            o->tab.task = SR_TASK_REGRESSION;
        } else if (strncmp(opt, "classes=", 8) == 0) {
            char *end;
            o->classes = strtoul(opt + 8, &end, 10);
            if (*end || o->classes == 0) {
                print_error("MANIFEST:%zu: bad option \"%s\"\n", c->line, opt);
                fail();
            }
        } else {
            print_error("MANIFEST:%zu: unknown option \"%s\"\n", c->line, opt);
            fail();
        }
        p += n;
        p += *p == ',';
    }
}

/* A distinct, never dereferenced address: "outputs untouched" means the
 * output still holds it after a failure. */
static max_align_t sentinel_storage;
#define SENTINEL ((void *)&sentinel_storage)

/* Loads `path` as a data set; on success *ds is set. */
static sr_status load_dataset(const load_opts *o, const char *path,
                              sr_dataset **ds, sr_error *err, int *known)
{
    char partner[512];
    *known = 1;
    if (strcmp(o->loader, "idx-images") == 0) {
        snprintf(partner, sizeof partner, "%s/idx/ok-labels.idx", bad_dir());
        return sr_dataset_load_idx(path, partner, ds, err);
    }
    if (strcmp(o->loader, "idx-labels") == 0) {
        snprintf(partner, sizeof partner, "%s/idx/ok-images.idx", bad_dir());
        return sr_dataset_load_idx(partner, path, ds, err);
    }
    if (strcmp(o->loader, "csv") == 0)
        return sr_dataset_load_csv(path, &o->tab, ds, err);
    if (strcmp(o->loader, "libsvm") == 0)
        return sr_dataset_load_libsvm(path, &o->tab, ds, err);
    *known = 0;
    return SR_OK;
}

/* A bad .npy file gives the same error when loaded as a data set's
 * features (which stream the payload into place) and when gzip'ed. */
static void check_npy_elsewhere(const bad_case *c, const char *path,
                                sr_status want)
{
    sr_error err;
    memset(&err, 0, sizeof err);
    sr_dataset *ds = SENTINEL;
    sr_status got = sr_dataset_load_npy(path, NULL, SR_TASK_UNLABELLED, &ds,
                                        &err);
    if (got != want || err.code != want || ds != SENTINEL ||
        (strcmp(c->phrase, "-") != 0 && !strstr(err.message, c->phrase)) ||
        !strstr(err.message, path)) {
        print_error("%s as features: got %s \"%s\", expected %s with "
                    "\"%s\"%s\n", path, status_name(got), err.message,
                    c->status, c->phrase,
                    ds != SENTINEL ? " (and the output was changed)" : "");
        fail();
    }

    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    static uint8_t bytes[1 << 16];
    size_t len = fread(bytes, 1, sizeof bytes, in);
    assert_true(len < sizeof bytes);
    fclose(in);
    char gz[256];
    snprintf(gz, sizeof gz, "/tmp/softreg-bad-%ld.npy.gz", (long)getpid());
    gzFile out = gzopen(gz, "wb");
    assert_non_null(out);
    if (len)
        assert_int_equal(gzwrite(out, bytes, (unsigned)len), (int)len);
    assert_int_equal(gzclose(out), Z_OK);
    sr_npy_array arr, before;
    memset(&arr, 0xA5, sizeof arr);
    memcpy(&before, &arr, sizeof arr);
    memset(&err, 0, sizeof err);
    got = sr_npy_read(gz, &arr, &err);
    unlink(gz);
    if (got != want || memcmp(&arr, &before, sizeof arr) != 0 ||
        (strcmp(c->phrase, "-") != 0 && !strstr(err.message, c->phrase)) ||
        !strstr(err.message, gz)) {
        print_error("%s gzip'ed: got %s \"%s\", expected %s with \"%s\"\n",
                    path, status_name(got), err.message, c->status,
                    c->phrase);
        fail();
    }
}

static void run_case(void **state)
{
    const bad_case *c = *state;
    load_opts o;
    parse_kind(c, &o);
    sr_status want = SR_OK;
    if (!status_of(c->status, &want)) {
        print_error("MANIFEST:%zu: unknown status %s\n", c->line, c->status);
        fail();
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", bad_dir(), c->file);
    if (access(path, R_OK) != 0) {
        print_error("MANIFEST:%zu: %s is missing\n", c->line, path);
        fail();
    }

    sr_error err;
    memset(&err, 0, sizeof err);
    sr_status got;
    int untouched = 1, known = 0;
    sr_dataset *ds = SENTINEL;
    got = load_dataset(&o, path, &ds, &err, &known);
    if (known) {
        if (got == SR_OK) {
            assert_true(ds != SENTINEL && ds != NULL);
        } else {
            untouched = ds == SENTINEL;
            ds = NULL;
        }
        if (o.classes) {
            if (got != SR_OK) {
                print_error("%s: expected to load before training, got %s: "
                            "%s\n", path, status_name(got), err.message);
                sr_dataset_free(ds);
                fail();
            }
            sr_train_params p = sr_train_params_default();
            p.epochs = 1;
            p.classes = o.classes;
            p.threads = 1;
            p.evaluate = 0;
            sr_model *model = SENTINEL;
            memset(&err, 0, sizeof err);
            got = sr_train(ds, NULL, &p, NULL, NULL, &model, &err);
            if (got == SR_OK)
                sr_model_free(model);
            else
                untouched = model == SENTINEL;
        }
        sr_dataset_free(ds);
    } else if (strcmp(o.loader, "npy") == 0) {
        sr_npy_array arr, before;
        memset(&arr, 0xA5, sizeof arr);
        memcpy(&before, &arr, sizeof arr);
        got = sr_npy_read(path, &arr, &err);
        if (got == SR_OK)
            sr_npy_array_free(&arr);
        else
            untouched = memcmp(&arr, &before, sizeof arr) == 0;
    } else if (strcmp(o.loader, "model") == 0) {
        sr_model *m = SENTINEL;
        got = sr_model_load(path, &m, &err);
        if (got == SR_OK)
            sr_model_free(m);
        else
            untouched = m == SENTINEL;
    } else {
        print_error("MANIFEST:%zu: unknown loader \"%s\"\n", c->line,
                    o.loader);
        fail();
    }

    if (got != want) {
        print_error("%s [%s]: expected %s, got %s: %s\n", path, c->kind,
                    c->status, status_name(got),
                    got == SR_OK ? "(no error)" : err.message);
        fail();
    }
    if (want == SR_OK)
        return;
    if (!untouched) {
        print_error("%s [%s]: the output was changed by a failed load\n",
                    path, c->kind);
        fail();
    }
    if (err.code != got) {
        print_error("%s: err.code is %s, the status %s\n", path,
                    status_name(err.code), status_name(got));
        fail();
    }
    if (strcmp(c->phrase, "-") != 0 && !strstr(err.message, c->phrase)) {
        print_error("%s: message \"%s\"\n  lacks \"%s\"\n", path, err.message,
                    c->phrase);
        fail();
    }
    if (!strstr(err.message, path)) {
        print_error("%s: message \"%s\" does not name the file\n", path,
                    err.message);
        fail();
    }
    if (strcmp(o.loader, "npy") == 0)
        check_npy_elsewhere(c, path, want);
}

/* ---- Every file of the catalogue is in the manifest ---------------------- */

static const bad_case *g_cases;
static size_t g_ncases;

static int listed(const char *rel)
{
    for (size_t i = 0; i < g_ncases; i++)
        if (strcmp(g_cases[i].file, rel) == 0)
            return 1;
    return 0;
}

/* Walks `dir` (relative to the catalogue, "" for its top); counts files in
 * the subdirectories that the manifest does not list. */
static size_t unlisted_files(const char *dir)
{
    char full[768];
    snprintf(full, sizeof full, "%s%s%s", bad_dir(), *dir ? "/" : "", dir);
    DIR *d = opendir(full);
    assert_non_null(d);
    size_t missing = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char rel[512], path[1024];
        snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", e->d_name);
        snprintf(path, sizeof path, "%s/%s", bad_dir(), rel);
        struct stat sb;
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            missing += unlisted_files(rel);
        } else if (*dir && !listed(rel)) {
            /* Top-level files are the manifest and the generator. */
            print_error("%s is not in the MANIFEST\n", path);
            missing++;
        }
    }
    closedir(d);
    return missing;
}

static void test_every_file_listed(void **state)
{
    (void)state;
    assert_int_equal(unlisted_files(""), 0);
}

int main(void)
{
    size_t n = 0;
    bad_case *cases = read_manifest(&n);
    g_cases = cases;
    g_ncases = n;
    struct CMUnitTest *tests = calloc(n + 1, sizeof *tests);
    assert_non_null(tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = cases[i].name;
        tests[i].test_func = run_case;
        tests[i].initial_state = &cases[i];
    }
    tests[n].name = "every_file_listed";
    tests[n].test_func = test_every_file_listed;
    int rc = _cmocka_run_group_tests("bad_inputs", tests, n + 1, NULL, NULL);
    free(tests);
    free_cases(cases, n);
    return rc;
}
