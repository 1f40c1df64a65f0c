package io.github.tfl1l2.demo;

import io.github.tfl1l2.L1L2;

/**
 * The outcome of training one {@link Setting}: the learned parameters and what the training graph
 * reported at the end.
 *
 * @param setting the setting trained
 * @param regularizer the penalty as the graph applied it (weights only)
 * @param weights the learned weights
 * @param bias the learned bias
 * @param finalDataLoss the training mean squared error as the graph computed it (float32)
 * @param finalPenalty the penalty in the minimized loss at the end (float32)
 * @param testPredictions the graph's own predictions for the test rows (float32)
 * @param seconds wall time of graph building and training
 */
record TrainedModel(
    Setting setting,
    L1L2 regularizer,
    double[] weights,
    double bias,
    float finalDataLoss,
    float finalPenalty,
    float[] testPredictions,
    double seconds) {}
