package io.github.tfl1l2.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.types.TFloat32;

/**
 * Trains the demo's linear model on one problem under any number of {@link Setting}s, each in a
 * fresh graph and session, with one constant step size.
 *
 * <p>Holds the problem's data as float32 tensors, fed to every training step (full batch: every
 * step sees all training rows, so no sampling and no randomness is involved); close it to free
 * them.
 */
final class Trainer implements AutoCloseable {
  private final SparseRegressionProblem problem;
  private final int totalSteps;
  private final float learningRate;
  private final TFloat32 trainFeatures;
  private final TFloat32 trainTargets;
  private final TFloat32 testFeatures;

  /**
   * Copies the problem's data into float32 tensors, once for all the models trained.
   *
   * @param problem the data to train on
   * @param totalSteps training steps per setting, at least 1
   */
  Trainer(SparseRegressionProblem problem, int totalSteps) {
    this.problem = problem;
    this.totalSteps = totalSteps;
    this.learningRate = stepSize(problem);
    List<TFloat32> tensors = new ArrayList<>(3);
    try {
      tensors.add(Tensors.matrix(problem.trainFeatures()));
      tensors.add(Tensors.vector(problem.trainTargets()));
      tensors.add(Tensors.matrix(problem.testFeatures()));
    } catch (RuntimeException e) {
      tensors.forEach(TFloat32::close);
      throw e;
    }
    this.trainFeatures = tensors.get(0);
    this.trainTargets = tensors.get(1);
    this.testFeatures = tensors.get(2);
  }

  /**
   * The step size of every model: {@code 1/L} with {@code L} the largest eigenvalue of the mean
   * squared error's Hessian, twice the Gram matrix of {@code [X 1]} over n. It is the largest step
   * for which proximal gradient descent provably decreases the loss at every step, and the L2 term
   * needs no room in it: the prox applies L2 exactly, whatever its size.
   */
  static float stepSize(SparseRegressionProblem problem) {
    return (float)
        (1.0 / (2.0 * LinearAlgebra.largestGramEigenvalueWithBias(problem.trainFeatures())));
  }

  /** The step size every model trains with. */
  float learningRate() {
    return learningRate;
  }

  /** The training steps every model takes. */
  int steps() {
    return totalSteps;
  }

  /** Trains {@code setting} from zero weights and returns the result. */
  TrainedModel train(Setting setting) {
    return train(setting, null);
  }

  /**
   * Trains {@code setting} from zero weights; if {@code exportDirectory} is not null, also writes
   * the trained graph there as a SavedModel (see {@link RegressionGraph#export}).
   */
  TrainedModel train(Setting setting, Path exportDirectory) {
    long start = System.nanoTime();
    try (RegressionGraph graph =
        new RegressionGraph(
            problem.features(), setting.regularizer(), setting.step(), learningRate)) {
      graph.train(totalSteps, trainFeatures, trainTargets);
      RegressionGraph.LossSnapshot end = graph.evaluate(trainFeatures, trainTargets);
      if (exportDirectory != null) {
        try {
          graph.export(exportDirectory);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot write the SavedModel to " + exportDirectory, e);
        }
      }
      return new TrainedModel(
          setting,
          graph.regularizer(),
          graph.weights(),
          graph.bias(),
          end.dataLoss(),
          end.penalty(),
          graph.predict(testFeatures),
          (System.nanoTime() - start) / 1e9);
    }
  }

  @Override
  public void close() {
    // All three are closed even if one close fails.
    try {
      trainFeatures.close();
    } finally {
      try {
        trainTargets.close();
      } finally {
        testFeatures.close();
      }
    }
  }
}
