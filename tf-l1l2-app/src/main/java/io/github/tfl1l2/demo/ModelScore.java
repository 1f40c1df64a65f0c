package io.github.tfl1l2.demo;

/**
 * How good a trained model is, computed in double precision from its weights.
 *
 * @param trainError mean squared error on the training rows
 * @param testError mean squared error on the held-out rows
 * @param penalty the penalty in the minimized loss at the end of training
 * @param nonZero weights that are not exactly zero
 * @param truePositives non-zero weights on truly informative features
 * @param informative the number of truly informative features
 */
record ModelScore(
    double trainError,
    double testError,
    double penalty,
    int nonZero,
    int truePositives,
    int informative) {

  /** Scores {@code model} on {@code problem}. */
  static ModelScore of(SparseRegressionProblem problem, TrainedModel model) {
    double[] w = model.weights();
    int nonZero = 0;
    int truePositives = 0;
    for (int i = 0; i < w.length; i++) {
      if (w[i] != 0.0) {
        nonZero++;
        if (problem.isInformative(i)) {
          truePositives++;
        }
      }
    }
    return new ModelScore(
        LinearAlgebra.meanSquaredError(
            problem.trainFeatures(), problem.trainTargets(), w, model.bias()),
        LinearAlgebra.meanSquaredError(
            problem.testFeatures(), problem.testTargets(), w, model.bias()),
        model.finalPenalty(),
        nonZero,
        truePositives,
        problem.informativeCount());
  }

  /** How many of {@code weights} exceed {@code threshold} in magnitude. */
  static int countAbove(double[] weights, double threshold) {
    int count = 0;
    for (double w : weights) {
      if (Math.abs(w) > threshold) {
        count++;
      }
    }
    return count;
  }

  /**
   * The share of selected features that truly matter; NaN when nothing is selected (no claim was
   * made, so none was wrong or right).
   */
  double precision() {
    return nonZero == 0 ? Double.NaN : (double) truePositives / nonZero;
  }

  /** The share of truly informative features that were selected. */
  double recall() {
    return informative == 0 ? Double.NaN : (double) truePositives / informative;
  }
}
