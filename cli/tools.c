/* Helpers shared by eval, predict, info, gradcheck and export. */
/* realpath() is XSI, beyond the POSIX base the build asks for. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools.h"

/* ---- Data options ------------------------------------------------------ */

tool_data tool_data_default(void)
{
    tool_data td;
    td.d = cli_data_default();
    td.labels = NULL;
    td.unlabelled = 0;
    return td;
}

int tool_data_option(int c, const char *arg, tool_data *td)
{
    switch (c) {
    case OPT_DATA_LABELS: td->labels = arg; return 1;
    case OPT_DATA_FORMAT: return cli_parse_format(arg, &td->d.format);
    case OPT_DATA_LABEL_COL:
        if (arg[0] == '\0') {
            fprintf(stderr, "softreg: --label-col: expected a column name or "
                            "a 0-based index, got an empty string\n");
            return 0;
        }
        td->d.label_col = arg;
        return 1;
    case OPT_DATA_HEADER: td->d.header = SR_CSV_HEADER_YES; return 1;
    case OPT_DATA_NO_HEADER: td->d.header = SR_CSV_HEADER_NO; return 1;
    case OPT_DATA_DELIMITER: return cli_parse_delimiter(arg, &td->d.delimiter);
    case OPT_DATA_NO_LABELS: td->unlabelled = 1; return 1;
    default: return -1;
    }
}

void tool_help_data(void)
{
    printf(
        "data (CSV, LIBSVM, .npy or IDX; each file raw or gzip-compressed):\n"
        "  --format F           csv, libsvm, npy, idx or auto (default auto:\n"
        "                       from the file's first bytes, then its name)\n"
        "  --labels F           the labels beside .npy features or IDX images;\n"
        "                       for X-images-idx3-ubyte[.gz] the default is the\n"
        "                       X-labels-idx1-ubyte[.gz] beside it\n"
        "  --label-col C        CSV: the label column, a header name or a\n"
        "                       0-based index (default: the last column)\n"
        "  --header, --no-header\n"
        "                       CSV: the first line names the columns, or not\n"
        "                       (default: detected)\n"
        "  --delimiter D        CSV: , ; tab or space (default: detected)\n"
        "  --no-labels          the file has no labels (new data to predict):\n"
        "                       every CSV column is a feature, LIBSVM labels are\n"
        "                       ignored, .npy features need no --labels\n");
}

/* The edit distance (insertions, deletions, substitutions) between a
 * and the first n bytes of b, for names of options (short). */
static size_t edit_distance(const char *a, const char *b, size_t n)
{
    size_t row[64], la = strlen(a);
    if (la >= 64 || n >= 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= n; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= n; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[n];
}

/* The option nearest to `word` ("--name" or "--name=value"), when within a
 * third of its length: a misspelling rather than another word. */
static const char *nearest_option(const char *word,
                                  const struct option *options)
{
    while (*word == '-')
        word++;
    size_t n = strcspn(word, "="), best = SIZE_MAX;
    const char *name = NULL;
    for (const struct option *o = options; o->name; o++) {
        size_t d = edit_distance(o->name, word, n);
        if (d < best) {
            best = d;
            name = o->name;
        }
    }
    return name && best > 0 && 3 * best <= strlen(name) ? name : NULL;
}

void tool_bad_option(int c, char **argv, const char *cmd,
                     const struct option *options)
{
    /* getopt_long leaves the offending word at argv[optind - 1]. */
    const char *word = argv[optind - 1];
    if (c == ':') {
        fprintf(stderr, "softreg: %s needs a value\n", word);
    } else if (optopt > ' ' && optopt < 127) {
        fprintf(stderr, "softreg: unknown option \"-%c\" (see softreg help %s)\n",
                optopt, cmd);
    } else {
        const char *near = nearest_option(word, options);
        fprintf(stderr, "softreg: unknown option \"%s\"", word);
        if (near)
            fprintf(stderr, "; did you mean --%s?", near);
        fprintf(stderr, " (see softreg help %s)\n", cmd);
    }
}

int tool_operands(int argc, char **argv, int want, const char *usage)
{
    int have = argc - optind;
    if (have == want)
        return 1;
    if (have > want)
        fprintf(stderr, "softreg: unexpected argument \"%s\"\n",
                argv[optind + want]);
    else
        fprintf(stderr, "softreg: missing %s\n", have == 0 && want == 2
                                                     ? "arguments"
                                                     : "argument");
    fprintf(stderr, "usage: %s\n", usage);
    return 0;
}

/* ---- Files ---------------------------------------------------------------- */

int tool_is_model_file(const char *path)
{
    unsigned char head[4];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    return got == 4 && memcmp(head, "\x89SRM", 4) == 0;
}

int tool_load_model(const char *path, sr_model **out)
{
    sr_error err;
    if (sr_model_load(path, out, &err) == SR_OK)
        return 1;
    const char *hint = NULL;
    if (strstr(err.message, "checksum") || strstr(err.message, "corrupted") ||
        strstr(err.message, "truncated"))
        hint = "the file changed after softreg wrote it; use another copy or "
               "train the model again";
    else if (strstr(err.message, "magic"))
        hint = "softreg train --out FILE writes a model file";
    cli_error(&err, hint);
    return 0;
}

/* "X-images-idx3-ubyte[.gz]" -> "X-labels-idx1-ubyte[.gz]" when that file
 * exists; NULL otherwise. The result must be freed. */
static char *idx_labels_beside(const char *path)
{
    static const char from[] = "images-idx3-ubyte", to[] = "labels-idx1-ubyte";
    const char *at = strstr(path, from);
    if (!at)
        return NULL;
    size_t len = strlen(path);
    char *guess = malloc(len + 1);
    if (!guess)
        return NULL;
    memcpy(guess, path, len + 1);
    memcpy(guess + (at - path), to, sizeof to - 1);
    if (access(guess, R_OK) != 0) {
        free(guess);
        return NULL;
    }
    return guess;
}

/* Loads `path` with the reference's classes and features, if any. A file
 * of another width is refused by the reader itself (CSV: before its rows,
 * so before any label is looked at; LIBSVM: at an index beyond). */
static sr_status load_quiet(const char *path, const tool_data *td,
                            sr_task task, const cli_reference *ref,
                            sr_dataset **out, sr_error *err)
{
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = td->unlabelled ? SR_TASK_UNLABELLED : task;
    opt.label_col = td->d.label_col;
    opt.header = td->d.header;
    opt.delimiter = td->d.delimiter;
    if (ref) {
        opt.classes = task == SR_TASK_CLASSIFICATION ? ref->classes : NULL;
        opt.k = opt.classes ? ref->k : 0;
        opt.features = ref->features;
    }
    char *guess = NULL;
    const char *labels = td->labels;
    if (!labels && (td->d.format == SR_FORMAT_AUTO || td->d.format == SR_FORMAT_IDX))
        labels = guess = idx_labels_beside(path);
    sr_status st = sr_dataset_load(path, labels, td->d.format, &opt, out, err);
    free(guess);
    return st;
}

static int load(const char *path, const tool_data *td, sr_task task,
                const cli_reference *ref, const char *model_path,
                sr_dataset **out)
{
    sr_error err;
    sr_status st = load_quiet(path, td, task, ref, out, &err);
    if (st == SR_OK)
        return 1;
    char hint[512];
    const char *h = NULL;
    if (strstr(err.message, "is not one of")) {
        h = "the classes come from the training data, kept in the model; "
            "this file has another";
    } else if (strstr(err.message, "need their label file") &&
               strstr(path, "labels-idx1")) {
        h = "this is an IDX label file; name the images file, with this one "
            "as --labels";
    } else if (st == SR_ERR_MISMATCH && model_path) {
        snprintf(hint, sizeof hint, "the model %s takes %zu features", model_path,
                 ref->features);
        h = hint;
    }
    cli_error(&err, h);
    return 0;
}

int tool_load_data(const char *path, const tool_data *td, sr_task task,
                   sr_dataset **out)
{
    return load(path, td, task, NULL, NULL, out);
}

/* qsort's order of column indices by their names */
static char *const *sort_names;
static int by_name(const void *a, const void *b)
{
    return strcmp(sort_names[*(const size_t *)a], sort_names[*(const size_t *)b]);
}

/* Whether names[0 .. n) holds a name twice; `order` gets the indices in
 * name order. */
static int has_duplicates(char *const *names, size_t n, size_t *order)
{
    for (size_t j = 0; j < n; j++)
        order[j] = j;
    sort_names = names;
    qsort(order, n, sizeof *order, by_name);
    for (size_t j = 1; j < n; j++)
        if (!strcmp(names[order[j - 1]], names[order[j]]))
            return 1;
    return 0;
}

/* A file with a header is matched to the model's features by name, when
 * the training file had one: its columns are put in the model's order, and
 * missing or extra ones are named. Returns 0 after the message. */
static int match_columns(const char *path, const sr_model *model,
                         sr_dataset **ds)
{
    size_t n = sr_model_features(model), have = sr_dataset_features(*ds);
    if (!sr_model_feature_name(model, 0) || !sr_dataset_feature_name(*ds, 0))
        return 1;
    char **mine = calloc(n ? n : 1, sizeof *mine);
    char **theirs = calloc(have ? have : 1, sizeof *theirs);
    size_t *order = calloc((n > have ? n : have) + 1, sizeof *order);
    size_t *cols = calloc(n ? n : 1, sizeof *cols);
    unsigned char *used = calloc(have ? have : 1, 1);
    int ok = 0;
    if (!mine || !theirs || !order || !cols || !used) {
        fprintf(stderr, "softreg: out of memory\n");
        goto done;
    }
    for (size_t j = 0; j < n; j++)
        mine[j] = (char *)sr_model_feature_name(model, j);
    for (size_t j = 0; j < have; j++)
        theirs[j] = (char *)sr_dataset_feature_name(*ds, j);
    /* names given twice cannot say which is which: the columns' order
     * rules, as for files without a header */
    if (has_duplicates(mine, n, order) || has_duplicates(theirs, have, order)) {
        ok = 1;
        goto done;
    }
    /* `order` holds theirs sorted by name: find each of mine */
    char missing[512] = "", extra[512] = "";
    size_t nmissing = 0, nextra = 0, identity = n == have;
    for (size_t j = 0; j < n; j++) {
        size_t lo = 0, hi = have;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(theirs[order[mid]], mine[j]) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < have && !strcmp(theirs[order[lo]], mine[j])) {
            cols[j] = order[lo];
            used[order[lo]] = 1;
            identity = identity && cols[j] == j;
        } else if (nmissing++ < 8) {
            size_t at = strlen(missing);
            snprintf(missing + at, sizeof missing - at, "%s\"%s\"",
                     at ? ", " : "", mine[j]);
        }
    }
    for (size_t j = 0; j < have; j++)
        if (!used[j] && nextra++ < 8) {
            size_t at = strlen(extra);
            snprintf(extra + at, sizeof extra - at, "%s\"%s\"",
                     at ? ", " : "", theirs[j]);
        }
    if (nmissing || nextra) {
        fprintf(stderr, "softreg: %s: its columns are not the model's "
                        "features:", path);
        if (nmissing)
            fprintf(stderr, " %zu missing (%s%s)", nmissing, missing,
                    nmissing > 8 ? ", ..." : "");
        if (nmissing && nextra)
            fprintf(stderr, ";");
        if (nextra)
            fprintf(stderr, " %zu not in the model (%s%s)", nextra, extra,
                    nextra > 8 ? ", ..." : "");
        fprintf(stderr, "\n");
        goto done;
    }
    if (!identity) {
        sr_dataset *picked = NULL;
        sr_error err;
        if (sr_dataset_select_features(*ds, cols, n, &picked, &err) != SR_OK) {
            cli_error(&err, NULL);
            goto done;
        }
        sr_dataset_free(*ds);
        *ds = picked;
        fprintf(stderr, "softreg: note: %s: columns matched to the model's "
                        "features by name (the order differs from the "
                        "training file's)\n", path);
    }
    ok = 1;
done:
    free(mine);
    free(theirs);
    free(order);
    free(cols);
    free(used);
    return ok;
}

int tool_load_for_model(const char *path, const tool_data *td,
                        const char *model_path, const sr_model *model,
                        int classes, sr_dataset **out)
{
    int linear = sr_model_kind_of(model) == SR_MODEL_LINEAR;
    cli_reference ref = {NULL, 0, sr_model_features(model)};
    const char **names = NULL;
    char (*numbers)[24] = NULL;
    sr_dataset *ds = NULL;
    int ok = 0;
    if (classes && !linear) {
        if (!cli_reference_from_model(model, &ref, &names))
            goto nomem;
        if (!names) {
            /* Classes numbered by the model itself: their names are the
             * numbers, so that label "3" of a CSV file is class 3. */
            size_t k = sr_model_classes(model);
            numbers = calloc(k, sizeof *numbers);
            names = calloc(k, sizeof *names);
            if (!numbers || !names)
                goto nomem;
            for (size_t c = 0; c < k; c++) {
                snprintf(numbers[c], sizeof numbers[c], "%zu", c);
                names[c] = numbers[c];
            }
            ref.classes = names;
            ref.k = k;
        }
    }
    /* Labels unneeded (predict) and not named: a file of the model's
     * features alone, with no label column, is read as such (the CSV
     * reader refuses another width at its first line). */
    if (!classes && !td->unlabelled && !td->labels && !td->d.label_col) {
        tool_data plain = *td;
        plain.unlabelled = 1;
        sr_error quiet;
        if (load_quiet(path, &plain, SR_TASK_UNLABELLED, &ref, &ds, &quiet) ==
                SR_OK &&
            sr_dataset_features(ds) == sr_model_features(model)) {
            if (!match_columns(path, model, &ds))
                goto done;
            *out = ds;
            ds = NULL;
            ok = 1;
            goto done;
        }
        sr_dataset_free(ds);
        ds = NULL;
    }
    sr_task task = linear ? SR_TASK_REGRESSION : SR_TASK_CLASSIFICATION;
    /* The label column the training file had, by its name, when the user
     * names none and this file's header has it. */
    const char *label = sr_model_label_name(model);
    if (label && !td->d.label_col) {
        tool_data named = *td;
        named.d.label_col = label;
        sr_error quiet;
        if (load_quiet(path, &named, task, &ref, &ds, &quiet) != SR_OK) {
            sr_dataset_free(ds);
            ds = NULL;
        }
    }
    /* A file of another width whose header may name the model's columns
     * among others: read at its own width, so that they can be named */
    if (!ds && sr_model_feature_name(model, 0)) {
        cli_reference wide = ref;
        wide.features = 0;
        sr_error quiet;
        if (load_quiet(path, td, task, &wide, &ds, &quiet) != SR_OK ||
            !sr_dataset_feature_name(ds, 0)) {
            sr_dataset_free(ds);
            ds = NULL;
        }
    }
    if (!ds && !load(path, td, task, &ref, model_path, &ds))
        goto done;
    if (!match_columns(path, model, &ds))
        goto done;
    if (sr_dataset_features(ds) != sr_model_features(model)) {
        fprintf(stderr, "softreg: %s has %zu features but the model %s expects %zu\n",
                path, sr_dataset_features(ds), model_path,
                sr_model_features(model));
        goto done;
    }
    size_t ignored = sr_dataset_ignored_entries(ds);
    if (ignored)
        fprintf(stderr, "softreg: note: %s: %zu %s of features beyond the "
                        "model's %zu %s left out (they have no weight)\n",
                path, ignored, ignored == 1 ? "entry" : "entries",
                sr_model_features(model), ignored == 1 ? "was" : "were");
    if (classes && linear && sr_dataset_targets(ds) != sr_model_outputs(model)) {
        fprintf(stderr, "softreg: %s has %zu targets but the model %s predicts %zu\n",
                path, sr_dataset_targets(ds), model_path,
                sr_model_outputs(model));
        goto done;
    }
    *out = ds;
    ds = NULL;
    ok = 1;
    goto done;
nomem:
    fprintf(stderr, "softreg: out of memory\n");
done:
    sr_dataset_free(ds);
    free(names);
    free(numbers);
    return ok;
}

/* ---- Atomic output files ------------------------------------------------ */

int tool_out_open(tool_out *o, const char *path)
{
    tool_out empty = TOOL_OUT_INIT;
    *o = empty;
    o->path = path;
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (!(o->f = fopen(path, "w"))) {
            fprintf(stderr, "softreg: cannot write %s: %s\n", path, strerror(errno));
            return 0;
        }
        return 1;
    }
    /* An existing file is replaced where it really is, so that a symbolic
     * link to it stays one. */
    errno = 0;
    char *real = realpath(path, NULL);
    if (!real && errno != ENOENT) {
        fprintf(stderr, "softreg: cannot write %s: %s\n", path, strerror(errno));
        return 0;
    }
    size_t len = strlen(real ? real : path);
    static const char suffix[] = ".tmp.XXXXXX";
    o->target = malloc(len + 1);
    o->tmp = malloc(len + sizeof suffix);
    if (!o->target || !o->tmp) {
        fprintf(stderr, "softreg: out of memory\n");
        free(real);
        tool_out_abort(o);
        return 0;
    }
    memcpy(o->target, real ? real : path, len + 1);
    free(real);
    memcpy(o->tmp, o->target, len);
    memcpy(o->tmp + len, suffix, sizeof suffix);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "softreg: cannot create a temporary file beside %s: %s\n",
                path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        tool_out_abort(o);
        return 0;
    }
    /* mkstemp makes the file private (0600); give it the mode a plain
     * fopen would have, 0666 less the umask. */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(o->f = fdopen(fd, "w"))) {
        fprintf(stderr, "softreg: cannot write %s: %s\n", o->tmp, strerror(errno));
        close(fd);
        tool_out_abort(o);
        return 0;
    }
    return 1;
}

int tool_out_commit(tool_out *o)
{
    const char *what = "write";
    int failed = fflush(o->f) != 0 || ferror(o->f);
    int saved = errno;
    if (!failed && o->tmp && fsync(fileno(o->f)) != 0) {
        what = "sync";
        failed = 1;
        saved = errno;
    }
    if (fclose(o->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    o->f = NULL;
    if (failed) {
        fprintf(stderr, "softreg: cannot %s %s: %s\n", what, o->path,
                strerror(saved));
        tool_out_abort(o);
        return 0;
    }
    if (o->tmp && rename(o->tmp, o->target) != 0) {
        fprintf(stderr, "softreg: cannot rename %s to %s: %s\n", o->tmp,
                o->target, strerror(errno));
        tool_out_abort(o);
        return 0;
    }
    free(o->tmp);
    free(o->target);
    o->tmp = o->target = NULL;
    return 1;
}

void tool_out_abort(tool_out *o)
{
    if (o->f)
        fclose(o->f);
    o->f = NULL;
    if (o->tmp)
        remove(o->tmp);
    free(o->tmp);
    free(o->target);
    o->tmp = o->target = NULL;
}

int tool_stdout_done(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "softreg: cannot write the output: %s\n", strerror(errno));
        return 0;
    }
    return 1;
}

/* ---- Printing ------------------------------------------------------------- */

void tool_csv_field(FILE *f, const char *s)
{
    size_t len = strlen(s);
    int quote = len == 0 || strpbrk(s, ",;\t\"\r\n") != NULL || s[0] == ' ' ||
                s[len - 1] == ' ';
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void tool_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

const char *tool_class_label(const sr_model *model, size_t c, char *buf,
                             size_t size)
{
    const char *name = sr_model_class_name(model, c);
    if (name)
        return name;
    snprintf(buf, size, "%zu", c);
    return buf;
}

/* The directory of `path` is created (with its parents) when missing and
 * must be writable, so that --out fails before training, not after.
 * Returns 0 after the message. */
int tool_check_output(const char *opt, const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fprintf(stderr, "softreg: %s %s: that is a directory; give a file "
                        "name\n", opt, path);
        return 0;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 1;
    if (len >= sizeof dir) {
        fprintf(stderr, "softreg: %s: the path is too long\n", opt);
        return 0;
    }
    memcpy(dir, slash ? path : ".", len);
    dir[len ? len : 1] = '\0';
    if (slash == path)
        strcpy(dir, "/");
    /* each missing ancestor in turn, then the directory itself */
    for (char *p = dir + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            char keep = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "softreg: %s %s: cannot create the directory "
                                "%s: %s\n", opt, path, dir, strerror(errno));
                return 0;
            }
            *p = keep;
        }
        if (end)
            break;
    }
    /* a file made and removed: access() lets root pass where the file
     * system refuses */
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.softreg-XXXXXX", dir);
    int fd = mkstemp(probe);
    if (fd < 0) {
        fprintf(stderr, "softreg: %s %s: cannot write in %s: %s\n", opt, path,
                dir, strerror(errno));
        return 0;
    }
    close(fd);
    unlink(probe);
    return 1;
}
