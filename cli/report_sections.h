/* The report's sections on the page and in --svg-dir (cli/report_page.c
 * puts them together). Each prints what went wrong and returns 0 on
 * failure. ih x iw is the image shape (0 x 0 for tabular data). */
#ifndef SR_CLI_REPORT_SECTIONS_H
#define SR_CLI_REPORT_SECTIONS_H

#include "figure.h"
#include "report.h"

/* Each class's weights (the network: its 64 strongest filters and its
 * second layer) and the mean image of each class (cli/report_weights.c). */
int report_weights(page *pg, const report_input *in, size_t ih, size_t iw);
int report_means(page *pg, const report_input *in, size_t ih, size_t iw);

/* The confusion matrix and the most confidently wrong examples
 * (cli/report_classes.c). */
int report_confusion(page *pg, const report_input *in);
int report_wrong(page *pg, const report_input *in, size_t ih, size_t iw);

/* Predicted against true, the residuals, the fitted curve
 * (cli/report_fit.c). */
int report_regression(page *pg, const report_input *in);

#endif
