/* softreg report: the report page of a saved model on a data file. */
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tools.h"

static const char report_usage[] =
    "softreg report MODEL DATA [--out FILE.html] [--svg-dir DIR] [options]";

void help_report(void)
{
    printf(
        "usage: %s\n"
        "\n"
        "Writes a report page of the model file MODEL on the labelled data file\n"
        "DATA: one self-contained HTML file (inline SVG and CSS, pictures as\n"
        "PNG data, nothing fetched from elsewhere) that opens in any browser\n"
        "and prints well. It shows the run (data, model, its training options),\n"
        "for image data each class's weights as a picture (the network: the 64\n"
        "first-layer filters of the largest norm and the second layer as a heat\n"
        "map) and the mean image of each class, the confusion matrix with each\n"
        "class's precision and recall, and the 24 examples the model got wrong\n"
        "with the highest probability (a table of rows for tabular data); for\n"
        "linear regression predicted against true, a histogram of residuals\n"
        "and, for a single input feature, the data and the fitted curve.\n"
        "A model file keeps no epoch table: `softreg train --report` draws the\n"
        "learning curves too.\n"
        "\n", report_usage);
    tool_help_data();
    printf(
        "\n"
        "output:\n"
        "  -o, --out FILE       the page (default: MODEL's name with .html in\n"
        "                       place of its extension), written atomically\n"
        "  --svg-dir DIR        the figures as separate SVG files in DIR\n"
        "                       (without --out, no page is written)\n"
        "  -h, --help           this help\n"
        "\n"
        "Exit status: 0 success, 1 a file could not be read or written or does\n"
        "not match the model, 2 bad usage.\n");
}

enum { OPT_OUT = OPT_TOOL_FIRST, OPT_SVG_DIR };

static const struct option report_options[] = {
    TOOL_DATA_LONG_OPTIONS,
    {"out", required_argument, 0, OPT_OUT},
    {"svg-dir", required_argument, 0, OPT_SVG_DIR},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};

/* MODEL's path with ".html" in place of its extension. */
static char *default_out(const char *model_path)
{
    size_t len = strlen(model_path);
    const char *dot = strrchr(model_path, '.'), *slash = strrchr(model_path, '/');
    if (dot && (!slash || dot > slash + 1))
        len = (size_t)(dot - model_path);
    char *out = malloc(len + 6);
    if (out) {
        memcpy(out, model_path, len);
        memcpy(out + len, ".html", 6);
    }
    return out;
}

int cmd_report(int argc, char **argv)
{
    tool_data td = tool_data_default();
    const char *out = NULL, *svg_dir = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":ho:", report_options, NULL)) != -1) {
        int r = tool_data_option(c, optarg, &td);
        if (r == 0)
            return EXIT_USAGE;
        if (r == 1)
            continue;
        switch (c) {
        case 'o':
        case OPT_OUT: out = optarg; break;
        case OPT_SVG_DIR: svg_dir = optarg; break;
        case 'h': help_report(); return 0;
        default:
            tool_bad_option(c, argv, "report", report_options);
            return EXIT_USAGE;
        }
    }
    if (!tool_operands(argc, argv, 2, report_usage))
        return EXIT_USAGE;
    const char *model_path = argv[optind], *data_path = argv[optind + 1];
    char *made = NULL;
    if (!out && !svg_dir && !(out = made = default_out(model_path))) {
        fprintf(stderr, "softreg: out of memory\n");
        return 1;
    }
    sr_model *model = NULL;
    sr_dataset *ds = NULL;
    int status = 1;
    cli_path stdin_copy;
    const char *read_path = cli_data_path(data_path, &stdin_copy);
    if (!read_path || !report_check_outputs(out, svg_dir) ||
        !tool_load_model(model_path, &model) ||
        !tool_load_for_model(read_path, &td, model_path, model, 1, &ds))
        goto done;
    report_input in = {model, NULL, NULL, ds, data_path, NULL, SIZE_MAX,
                       NULL, NULL, -1.0};
    if (!report_write(&in, out, svg_dir))
        goto done;
    if (out)
        fprintf(stderr, "report written to %s\n", out);
    status = 0;
done:
    cli_data_path_done(&stdin_copy);
    sr_dataset_free(ds);
    sr_model_free(model);
    free(made);
    return status;
}
