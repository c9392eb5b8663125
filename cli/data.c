#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "data.h"

cli_data cli_data_default(void)
{
    cli_data d = {SR_FORMAT_AUTO, NULL, SR_CSV_HEADER_AUTO, 0, NULL, NULL};
    return d;
}

const char *cli_data_path(const char *path, cli_path *p)
{
    p->tmp[0] = '\0';
    if (!path || strcmp(path, "-") != 0)
        return path;
    snprintf(p->tmp, sizeof p->tmp, "/tmp/softreg-stdin-XXXXXX");
    int fd = mkstemp(p->tmp);
    if (fd < 0) {
        fprintf(stderr, "softreg: -: cannot make a temporary copy of "
                        "standard input: %s\n", strerror(errno));
        p->tmp[0] = '\0';
        return NULL;
    }
    char buf[1 << 16];
    ssize_t got;
    while ((got = read(STDIN_FILENO, buf, sizeof buf)) > 0)
        for (ssize_t done = 0; done < got;) {
            ssize_t w = write(fd, buf + done, (size_t)(got - done));
            if (w < 0) {
                fprintf(stderr, "softreg: -: copying standard input to %s: "
                                "%s\n", p->tmp, strerror(errno));
                close(fd);
                cli_data_path_done(p);
                return NULL;
            }
            done += w;
        }
    if (got < 0 || close(fd) != 0) {
        fprintf(stderr, "softreg: -: reading standard input: %s\n",
                strerror(errno));
        cli_data_path_done(p);
        return NULL;
    }
    return p->tmp;
}

void cli_data_path_done(cli_path *p)
{
    if (p->tmp[0])
        unlink(p->tmp);
    p->tmp[0] = '\0';
}

int cli_parse_format(const char *text, sr_format *out)
{
    static const sr_format all[] = {SR_FORMAT_AUTO, SR_FORMAT_CSV,
                                    SR_FORMAT_LIBSVM, SR_FORMAT_NPY,
                                    SR_FORMAT_IDX};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (!strcmp(text, sr_format_name(all[i]))) {
            *out = all[i];
            return 1;
        }
    fprintf(stderr, "softreg: --format: expected csv, libsvm, npy, idx or "
                    "auto, got \"%s\"\n", text);
    return 0;
}

int cli_parse_delimiter(const char *text, char *out)
{
    if (!strcmp(text, "\\t") || !strcmp(text, "tab")) {
        *out = '\t';
        return 1;
    }
    if (!strcmp(text, "space")) {
        *out = ' ';
        return 1;
    }
    if (strlen(text) == 1 && strchr(",; \t", text[0])) {
        *out = text[0];
        return 1;
    }
    fprintf(stderr, "softreg: --delimiter: expected one of , ; tab space, "
                    "got \"%s\"\n", text);
    return 0;
}

int cli_load_file(const char *path, const char *labels, const cli_data *d,
                  sr_task task, const cli_reference *ref, size_t shard_unit,
                  sr_dataset **out)
{
    sr_tabular_options opt = sr_tabular_options_default();
    opt.task = task;
    opt.label_col = d->label_col;
    opt.header = d->header;
    opt.delimiter = d->delimiter;
    opt.progress = d->progress;
    opt.progress_user = d->progress_user;
    if (ref && task == SR_TASK_CLASSIFICATION && ref->classes) {
        opt.classes = ref->classes;
        opt.k = ref->k;
    }
    if (ref)
        opt.features = ref->features;
    sr_error err;
    sr_format f = d->format;
    /* A LIBSVM file does not declare its width; CSV does, and a mismatch
     * is reported by the caller with both numbers. */
    if (f == SR_FORMAT_AUTO && (f = sr_format_detect(path, &err)) == SR_FORMAT_AUTO)
        goto fail;
    if (f != SR_FORMAT_LIBSVM)
        opt.features = 0;
    if ((shard_unit ? sr_dataset_load_shard(path, labels, f, &opt,
                                            shard_unit, out, &err)
                    : sr_dataset_load(path, labels, f, &opt, out, &err)) !=
        SR_OK)
        goto fail;
    return 1;
fail:
    cli_error(&err, strstr(err.message, "is not one of") ? "the classes come "
              "from the training data (or the model); this file has another"
                                                      : NULL);
    return 0;
}

static int names_of(size_t k, const char *(*name)(const void *, size_t),
                    const void *obj, cli_reference *ref, const char ***names)
{
    *names = NULL;
    ref->classes = NULL;
    ref->k = 0;
    if (k == 0 || !name(obj, 0))
        return 1;
    const char **list = calloc(k, sizeof *list);
    if (!list)
        return 0;
    for (size_t c = 0; c < k; c++)
        list[c] = name(obj, c);
    *names = list;
    ref->classes = list;
    ref->k = k;
    return 1;
}

static const char *ds_name(const void *ds, size_t c)
{
    return sr_dataset_class_name(ds, c);
}

static const char *model_name(const void *model, size_t c)
{
    return sr_model_class_name(model, c);
}

int cli_reference_from_dataset(const sr_dataset *ds, cli_reference *ref,
                               const char ***names)
{
    ref->features = sr_dataset_features(ds);
    return names_of(sr_dataset_classes(ds), ds_name, ds, ref, names);
}

int cli_reference_from_model(const sr_model *model, cli_reference *ref,
                             const char ***names)
{
    ref->features = sr_model_features(model);
    size_t k = sr_model_kind_of(model) == SR_MODEL_LINEAR ? 0
                                                          : sr_model_classes(model);
    return names_of(k, model_name, model, ref, names);
}
