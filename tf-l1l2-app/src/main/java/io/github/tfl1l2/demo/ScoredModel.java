package io.github.tfl1l2.demo;

/**
 * A trained model together with its score.
 *
 * @param model what training produced
 * @param score how good it is
 */
record ScoredModel(TrainedModel model, ModelScore score) {

  /** Scores {@code model} on {@code problem}. */
  static ScoredModel of(SparseRegressionProblem problem, TrainedModel model) {
    return new ScoredModel(model, ModelScore.of(problem, model));
  }

  /** The setting the model was trained with. */
  Setting setting() {
    return model.setting();
  }
}
