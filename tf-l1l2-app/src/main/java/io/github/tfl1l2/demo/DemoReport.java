package io.github.tfl1l2.demo;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything a demo run computed, for the caller to inspect (the tests do).
 *
 * @param problem the generated problem
 * @param settings the four settings in order: no penalty, L2 only, L1 only, L1+L2, trained with the
 *     proximal step
 * @param subgradient the L1-only setting trained by plain gradient descent, for contrast
 * @param path the regularization path: L1-only models by increasing coefficient
 * @param charts the PNG files written
 * @param export what reloading the exported L1+L2 SavedModel showed
 * @param seconds wall time of the whole run
 */
record DemoReport(
    SparseRegressionProblem problem,
    List<ScoredModel> settings,
    ScoredModel subgradient,
    List<ScoredModel> path,
    List<Path> charts,
    ExportCheck export,
    double seconds) {

  /** The model trained under the setting labelled {@code label}. */
  ScoredModel setting(String label) {
    return settings.stream()
        .filter(s -> s.setting().label().equals(label))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no setting labelled " + label));
  }
}
