/* The README's C example as a whole program: trains the course's network
 * (ReLU(X W1) W2, 400 hidden units) on MNIST and prints its test error.
 *
 *   cc train_mnist.c $(pkg-config --cflags --libs softreg) -o train_mnist
 *   ./train_mnist [DATA_DIR [EPOCHS]]      (default data/mnist, 20 epochs)
 */
#include <stdio.h>
#include <stdlib.h>

#include <softreg.h>

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "data/mnist";
    sr_error err;
    sr_dataset *train = NULL, *test = NULL;
    sr_model *model = NULL;
    int status = 1;
    if (sr_dataset_load_mnist(dir, "train", &train, &err) ||
        sr_dataset_load_mnist(dir, "t10k", &test, &err))
        goto fail;
    sr_train_params p = sr_train_params_default(); /* the course's run */
    p.model = SR_MODEL_NN;
    p.hidden = 400;
    p.epochs = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
    if (sr_train(train, test, &p, NULL, NULL, &model, &err))
        goto fail;
    double loss, error_rate;
    if (sr_model_evaluate(model, test, &loss, &error_rate, &err))
        goto fail;
    printf("softreg %s: test loss %.5f, test error %.4f\n", sr_version(),
           loss, error_rate);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "train_mnist: %s\n", err.message);
done:
    sr_model_free(model);
    sr_dataset_free(test);
    sr_dataset_free(train);
    return status;
}
