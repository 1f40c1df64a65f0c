package io.github.tfl1l2.demo;

import io.github.tfl1l2.savedmodel.RegularizationSignature;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Signature;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TFloat64;

/**
 * What reloading an exported demo SavedModel showed: its signatures, and how its outputs compare
 * with the model as trained.
 *
 * @param directory where the SavedModel was loaded from
 * @param signatureKeys the signature keys it carries
 * @param rows the test rows sent through {@code serving_default}
 * @param maxPredictionDifference the largest |reloaded − trained| prediction over those rows
 * @param weightsIdentical whether the reloaded weights equal the trained ones bit for bit
 * @param reloadedPenalty the {@code regularization} signature's {@code penalty} output
 * @param recomputedPenalty {@code l1·Σ|w| + l2·Σw²} computed in double precision from the reloaded
 *     weights and the {@code coefficients} output
 * @param trainedPenalty the penalty in the loss at the end of training
 */
record ExportCheck(
    Path directory,
    List<String> signatureKeys,
    int rows,
    double maxPredictionDifference,
    boolean weightsIdentical,
    double reloadedPenalty,
    double recomputedPenalty,
    double trainedPenalty) {

  /**
   * Relative tolerance between float32 results and their double-precision recomputation: a sum of a
   * few hundred float32 terms is accurate to a few ulps of 6e-8.
   */
  static final double RELATIVE_TOLERANCE = 1e-5;

  /**
   * Loads the SavedModel in {@code directory} and compares it with {@code model}, trained on {@code
   * problem}.
   */
  static ExportCheck run(Path directory, SparseRegressionProblem problem, TrainedModel model) {
    try (SavedModelBundle bundle = SavedModelBundle.load(directory.toString(), "serve")) {
      List<String> keys = bundle.signatures().stream().map(Signature::key).sorted().toList();
      double maxDifference = 0.0;
      try (TFloat32 x = Tensors.matrix(problem.testFeatures());
          Result served =
              bundle.function(Signature.DEFAULT_KEY).call(Map.of(RegressionGraph.FEATURES, x))) {
        float[] reloaded =
            Tensors.toFloatArray((TFloat32) served.get(RegressionGraph.PREDICTION).orElseThrow());
        for (int i = 0; i < reloaded.length; i++) {
          maxDifference =
              Math.max(maxDifference, Math.abs((double) reloaded[i] - model.testPredictions()[i]));
        }
      }
      double[] weights = reloadedWeights(bundle);
      double reloadedPenalty;
      double[] coefficients;
      try (Result regularization = bundle.function(RegularizationSignature.KEY).call(Map.of())) {
        reloadedPenalty = scalar(regularization, RegularizationSignature.PENALTY);
        TFloat64 c =
            (TFloat64) regularization.get(RegularizationSignature.COEFFICIENTS).orElseThrow();
        coefficients = new double[] {c.getDouble(0), c.getDouble(1), c.getDouble(2)};
      }
      return new ExportCheck(
          directory,
          keys,
          problem.testFeatures().length,
          maxDifference,
          Arrays.equals(weights, model.weights()),
          reloadedPenalty,
          penaltyInDouble(weights, coefficients[0], coefficients[1], coefficients[2]),
          model.finalPenalty());
    }
  }

  /** {@code weight · (l1·Σ|w| + l2·Σw²)} in double precision. */
  static double penaltyInDouble(double[] w, double l1, double l2, double weight) {
    double absSum = 0.0;
    double squareSum = 0.0;
    for (double v : w) {
      absSum += Math.abs(v);
      squareSum += v * v;
    }
    return weight * (l1 * absSum + l2 * squareSum);
  }

  /**
   * The largest prediction difference still counted as a match: predictions are of order 10, where
   * one float32 ulp is about 1e-6, and a reloaded session may split the matrix product over threads
   * differently.
   */
  static final double PREDICTION_TOLERANCE = 1e-4;

  /** Whether the reloaded predictions equal the trained ones up to float32 rounding. */
  boolean predictionsMatch() {
    return maxPredictionDifference <= PREDICTION_TOLERANCE;
  }

  /** Whether the reloaded penalty agrees with the trained one and with the double recomputation. */
  boolean penaltyMatches() {
    return close(reloadedPenalty, recomputedPenalty) && close(reloadedPenalty, trainedPenalty);
  }

  /** Whether everything compared matched and both signatures are present. */
  boolean allMatch() {
    return signatureKeys.contains(Signature.DEFAULT_KEY)
        && signatureKeys.contains(RegularizationSignature.KEY)
        && weightsIdentical
        && predictionsMatch()
        && penaltyMatches();
  }

  private static boolean close(double a, double b) {
    return Math.abs(a - b)
        <= RELATIVE_TOLERANCE * Math.max(1.0, Math.max(Math.abs(a), Math.abs(b)));
  }

  private static double[] reloadedWeights(SavedModelBundle bundle) {
    try (Result result = bundle.session().runner().fetch(RegressionGraph.WEIGHTS).run()) {
      TFloat32 w = (TFloat32) result.get(0);
      double[] values = new double[(int) w.shape().get(0)];
      for (int i = 0; i < values.length; i++) {
        values[i] = w.getFloat(i, 0);
      }
      return values;
    }
  }

  private static double scalar(Result result, String name) {
    Tensor t =
        result
            .get(name)
            .orElseThrow(
                () ->
                    new IllegalStateException("the SavedModel output \"" + name + "\" is missing"));
    return ((TFloat32) t).getFloat();
  }
}
